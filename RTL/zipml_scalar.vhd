---------------------------------------------------------------------------------------------------
-- ZipML-PYNQ SGD engine: scalar stage (float32)
---------------------------------------------------------------------------------------------------
-- Description
--   For every sample: z = fix2flt(acc, F), the loss-specific scalar s of docs/ENGINE.md 5.3
--   and S = flt2fix(s). One fixed pipeline serves the three losses, so a new sample may enter
--   every cycle and results leave in order after C_LAT cycles:
--
--     fix2flt -> mul1 -> add1 -> add2 -> add3 -> mul2 -> flt2fix
--     logreg:  u*c1     +c2=h    1-h      pl-p     gamma*()        (PLAN: u = |z|, case by u)
--     linreg:  -        -        -        z-y'     gamma*()
--     svm:     -        -        -        1-t      k_y*m, s = +0 unless m > 0
--
--   Unused units for a loss still run (their results are ignored). Validity is tracked by
--   delay lines with a synchronous reset (the FP units have none), so a reset drops every
--   sample in flight.
--
-- Generics
--   G_BITS : precision (selects F).  G_FP_XILINX : FP unit implementation.
-- Ports
--   in_valid, acc (64-bit dot product), ypos (y' = +1), y (y' as binary32) ;
--   loss (MODE.LOSS), gamma, kp, kn (per-epoch constants of 5.1, stable while samples are in
--   flight); out_valid, out_s (S, Q8.23), out_sat (flt2fix saturated).
---------------------------------------------------------------------------------------------------

library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

library work;
use work.zipml_spec_pkg.all;
use work.zipml_core_pkg.all;
use work.zipml_fp_pkg.all;

entity zipml_scalar is
  generic (
    G_BITS      : natural;
    G_FP_XILINX : boolean := false
  );
  port (
    clk       : in  std_logic;
    rst       : in  std_logic;
    in_valid  : in  std_logic;
    acc       : in  std_logic_vector(C_ACC_W - 1 downto 0);
    ypos      : in  std_logic;
    y         : in  std_logic_vector(31 downto 0);
    loss      : in  std_logic_vector(1 downto 0);
    gamma     : in  std_logic_vector(31 downto 0);
    kp        : in  std_logic_vector(31 downto 0);
    kn        : in  std_logic_vector(31 downto 0);
    out_valid : out std_logic;
    out_s     : out std_logic_vector(31 downto 0);
    out_sat   : out std_logic
  );
end entity zipml_scalar;

architecture rtl of zipml_scalar is
  constant LC : natural := fp_fix2flt_latency(G_FP_XILINX);
  constant LM : natural := fp_mul_latency(G_FP_XILINX);
  constant LA : natural := fp_add_latency(G_FP_XILINX);
  constant LF : natural := fp_flt2fix_latency(G_FP_XILINX);
  constant C_LAT : natural := LC + LM + 3 * LA + LM + LF;
  constant SH : natural := C_FIX2FLT_FRAC - dot_frac(G_BITS);

  constant F_ONE    : std_logic_vector(31 downto 0) := x"3F800000";
  constant F_MONE   : std_logic_vector(31 downto 0) := x"BF800000";
  constant F_MZERO  : std_logic_vector(31 downto 0) := x"80000000";
  constant F_PZERO  : std_logic_vector(31 downto 0) := x"00000000";
  constant F_5      : std_logic_vector(31 downto 0) := x"40A00000";
  constant F_2_375  : std_logic_vector(31 downto 0) := x"40180000";
  constant F_1      : std_logic_vector(31 downto 0) := x"3F800000";
  constant F_1_32   : std_logic_vector(31 downto 0) := x"3D000000";
  constant F_27_32  : std_logic_vector(31 downto 0) := x"3F580000";
  constant F_1_8    : std_logic_vector(31 downto 0) := x"3E000000";
  constant F_5_8    : std_logic_vector(31 downto 0) := x"3F200000";
  constant F_1_4    : std_logic_vector(31 downto 0) := x"3E800000";
  constant F_1_2    : std_logic_vector(31 downto 0) := x"3F000000";

  function neg(a : std_logic_vector(31 downto 0)) return std_logic_vector is
  begin
    return (not a(31)) & a(30 downto 0);
  end function;

  -- valid pipeline
  signal vline : std_logic_vector(C_LAT downto 0) := (others => '0');

  signal fix_in : std_logic_vector(63 downto 0);
  signal z1     : std_logic_vector(31 downto 0);                -- T1
  signal u1, c1_1, c2_1 : std_logic_vector(31 downto 0);
  signal big1, zneg1 : std_logic;
  signal m1r    : std_logic_vector(31 downto 0);                -- T2
  signal c2_2   : std_logic_vector(31 downto 0);
  signal h3raw  : std_logic_vector(31 downto 0);                -- T3
  signal big3   : std_logic_vector(0 downto 0);
  signal h3     : std_logic_vector(31 downto 0);
  signal nh3    : std_logic_vector(31 downto 0);                -- -h3 (a signal: ghdl synth 2.0 drops a function call in a port map)
  signal r4     : std_logic_vector(31 downto 0);                -- T4
  signal h4     : std_logic_vector(31 downto 0);
  signal side0, side4 : std_logic_vector(33 downto 0);           -- ypos & zneg? & y ...
  signal z4     : std_logic_vector(31 downto 0);
  signal zneg4  : std_logic_vector(0 downto 0);
  signal pl4, a4, b4 : std_logic_vector(31 downto 0);
  signal r5     : std_logic_vector(31 downto 0);                -- T5
  signal ypos5  : std_logic_vector(0 downto 0);
  signal k5     : std_logic_vector(31 downto 0);
  signal s6raw  : std_logic_vector(31 downto 0);                -- T6
  signal r6     : std_logic_vector(31 downto 0);
  signal s6     : std_logic_vector(31 downto 0);
  signal ypos4  : std_logic;
  signal y4     : std_logic_vector(31 downto 0);
  signal zneg1v, big1v : std_logic_vector(0 downto 0);
  signal ypos4v : std_logic_vector(0 downto 0);
  signal d_unused : std_logic_vector(6 downto 0);
begin

  -- valid bits (the units' own out_valid are not used: they have no reset)
  process (clk)
  begin
    if rising_edge(clk) then
      if rst = '1' then
        vline(C_LAT downto 1) <= (others => '0');
      else
        vline(C_LAT downto 1) <= vline(C_LAT - 1 downto 0);
      end if;
    end if;
  end process;
  vline(0) <= in_valid;
  out_valid <= vline(C_LAT);

  -- fix2flt
  fix_in <= std_logic_vector(shift_left(signed(acc), SH));
  u_fix : entity work.zipml_fp_fix2flt
    generic map (G_FP_XILINX => G_FP_XILINX)
    port map (aclk => clk, in_valid => in_valid, in_a => fix_in, out_valid => open,
              out_result => z1);

  -- label side band to T4
  side0 <= ypos & '0' & y;
  u_side : entity work.zipml_delay
    generic map (G_WIDTH => 34, G_DEPTH => LC + LM + 2 * LA)
    port map (clk => clk, rst => '0', din => side0, dout => side4);
  ypos4 <= side4(33);
  y4    <= side4(31 downto 0);

  -- T1: PLAN case selection on u = |z|
  u1    <= '0' & z1(30 downto 0);
  zneg1 <= '1' when z1(31) = '1' and unsigned(z1(30 downto 0)) /= 0 else '0';
  process (all)
  begin
    big1 <= '0';
    if unsigned(u1) >= unsigned(F_5) then
      big1 <= '1';
      c1_1 <= F_1_32;  c2_1 <= F_27_32;              -- unused (h = 1)
    elsif unsigned(u1) >= unsigned(F_2_375) then
      c1_1 <= F_1_32;  c2_1 <= F_27_32;
    elsif unsigned(u1) >= unsigned(F_1) then
      c1_1 <= F_1_8;   c2_1 <= F_5_8;
    else
      c1_1 <= F_1_4;   c2_1 <= F_1_2;
    end if;
  end process;

  u_mul1 : entity work.zipml_fp_mul
    generic map (G_FP_XILINX => G_FP_XILINX)
    port map (aclk => clk, in_valid => vline(LC), in_a => u1, in_b => c1_1,
              out_valid => open, out_result => m1r);
  u_c2 : entity work.zipml_delay
    generic map (G_WIDTH => 32, G_DEPTH => LM)
    port map (clk => clk, rst => '0', din => c2_1, dout => c2_2);
  big1v(0) <= big1;
  u_big : entity work.zipml_delay
    generic map (G_WIDTH => 1, G_DEPTH => LM + LA)
    port map (clk => clk, rst => '0', din => big1v, dout => big3);
  zneg1v(0) <= zneg1;
  u_zneg : entity work.zipml_delay
    generic map (G_WIDTH => 1, G_DEPTH => LM + 2 * LA)
    port map (clk => clk, rst => '0', din => zneg1v, dout => zneg4);
  u_z : entity work.zipml_delay
    generic map (G_WIDTH => 32, G_DEPTH => LM + 2 * LA)
    port map (clk => clk, rst => '0', din => z1, dout => z4);

  -- T2: h = u*c1 + c2
  u_add1 : entity work.zipml_fp_add
    generic map (G_FP_XILINX => G_FP_XILINX)
    port map (aclk => clk, in_valid => vline(LC + LM), in_a => m1r, in_b => c2_2,
              out_valid => open, out_result => h3raw);

  -- T3: h (1.0 for u >= 5); 1 - h
  h3 <= F_ONE when big3(0) = '1' else h3raw;
  nh3 <= neg(h3);
  u_add2 : entity work.zipml_fp_add
    generic map (G_FP_XILINX => G_FP_XILINX)
    port map (aclk => clk, in_valid => vline(LC + LM + LA), in_a => F_ONE, in_b => nh3,
              out_valid => open, out_result => r4);
  u_h : entity work.zipml_delay
    generic map (G_WIDTH => 32, G_DEPTH => LA)
    port map (clk => clk, rst => '0', din => h3, dout => h4);

  -- T4: operands of add3 by loss
  pl4 <= r4 when zneg4(0) = '1' else h4;
  process (all)
  begin
    if unsigned(loss) = C_LOSS_SVM then
      a4 <= F_ONE;
      if ypos4 = '1' then
        b4 <= neg(z4);
      else
        b4 <= z4;
      end if;
    elsif unsigned(loss) = C_LOSS_LINREG then
      a4 <= z4;
      b4 <= neg(y4);
    else
      a4 <= pl4;
      if ypos4 = '1' then
        b4 <= F_MONE;
      else
        b4 <= F_MZERO;
      end if;
    end if;
  end process;
  u_add3 : entity work.zipml_fp_add
    generic map (G_FP_XILINX => G_FP_XILINX)
    port map (aclk => clk, in_valid => vline(LC + LM + 2 * LA), in_a => a4, in_b => b4,
              out_valid => open, out_result => r5);
  ypos4v(0) <= ypos4;
  u_ypos5 : entity work.zipml_delay
    generic map (G_WIDTH => 1, G_DEPTH => LA)
    port map (clk => clk, rst => '0', din => ypos4v, dout => ypos5);

  -- T5: s = k * r
  k5 <= gamma when unsigned(loss) /= C_LOSS_SVM else
        kp when ypos5(0) = '1' else kn;
  u_mul2 : entity work.zipml_fp_mul
    generic map (G_FP_XILINX => G_FP_XILINX)
    port map (aclk => clk, in_valid => vline(LC + LM + 3 * LA), in_a => k5, in_b => r5,
              out_valid => open, out_result => s6raw);
  u_r6 : entity work.zipml_delay
    generic map (G_WIDTH => 32, G_DEPTH => LM)
    port map (clk => clk, rst => '0', din => r5, dout => r6);

  -- T6: svm: s = +0 unless m > 0; S = flt2fix(s)
  process (all)
    variable pos : boolean;
  begin
    pos := r6(31) = '0' and unsigned(r6(30 downto 0)) /= 0
           and not (r6(30 downto 23) = x"FF" and unsigned(r6(22 downto 0)) /= 0);
    if unsigned(loss) = C_LOSS_SVM and not pos then
      s6 <= F_PZERO;
    else
      s6 <= s6raw;
    end if;
  end process;
  u_f2x : entity work.zipml_fp_flt2fix
    generic map (G_FP_XILINX => G_FP_XILINX)
    port map (aclk => clk, in_valid => vline(LC + 2 * LM + 3 * LA), in_a => s6,
              out_valid => open, out_result => out_s, out_sat => out_sat);

end architecture rtl;
