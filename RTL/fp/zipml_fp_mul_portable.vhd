-------------------------------------------------------------------------------------------------
-- zipml_fp_mul_portable: fmul(a, b) of docs/ENGINE.md 2.2 in portable VHDL.
--
-- Numerics (exactly ENGINE.md 2.2): subnormal operands are replaced by zero of the same sign;
-- the exact product is rounded to a 24-bit significand, round to nearest, ties to even, with an
-- unbounded exponent; a rounded magnitude below 2^-126 gives zero with the sign of the exact
-- result (sign a xor sign b), 2^128 or more gives infinity; NaN operands and 0 * inf give
-- 0x7FC00000; 0 * finite gives zero with sign a xor sign b.
--
-- Pipeline (latency C_PORT_FP_MUL_LATENCY = 5, one operation per cycle, no back-pressure):
--   1 unpack, special cases, exponent sum                 (DSP48 A/B input registers)
--   2 24 x 24 -> 48 bit significand product               (DSP48 M register)
--   3 product register                                    (DSP48 P register)
--   4 normalise (product in [1, 4): at most one position), guard and sticky
--   5 round to nearest even, exponent range (flush / overflow), pack
-------------------------------------------------------------------------------------------------
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

entity zipml_fp_mul_portable is
  port (
    aclk       : in  std_logic;                      -- clock, rising edge
    in_valid   : in  std_logic;                      -- an operation enters this cycle
    in_a       : in  std_logic_vector(31 downto 0);  -- binary32 operand a
    in_b       : in  std_logic_vector(31 downto 0);  -- binary32 operand b
    out_valid  : out std_logic;                      -- out_result holds a result
    out_result : out std_logic_vector(31 downto 0)); -- binary32 fmul(a, b)
end entity zipml_fp_mul_portable;

architecture rtl of zipml_fp_mul_portable is

  -- result class decided in stage 1: 0 normal, 1 NaN, 2 infinity, 3 zero
  subtype t_class is unsigned(1 downto 0);
  constant C_NORMAL : t_class := "00";
  constant C_NAN    : t_class := "01";
  constant C_INF    : t_class := "10";
  constant C_ZERO   : t_class := "11";

  type t_class_arr is array (natural range <>) of t_class;
  type t_exp_arr is array (natural range <>) of signed(9 downto 0);

  -- sideband pipelined next to the significand datapath, index = stage
  signal sb_valid : std_logic_vector(1 to 4) := (others => '0');
  signal sb_sign  : std_logic_vector(1 to 4);
  signal sb_class : t_class_arr(1 to 4);
  signal sb_exp   : t_exp_arr(1 to 3);          -- biased exponent of the product ea + eb - 127

  signal s1_ma, s1_mb : unsigned(23 downto 0);
  signal s2_prod      : unsigned(47 downto 0);
  signal s3_prod      : unsigned(47 downto 0);
  signal s4_mant      : unsigned(23 downto 0);
  signal s4_guard     : std_logic;
  signal s4_sticky    : std_logic;
  signal s4_exp       : signed(9 downto 0);
  signal s5_valid     : std_logic := '0';
  signal s5_result    : std_logic_vector(31 downto 0);

begin

  p_pipe : process (aclk)
    variable v_ea, v_eb : unsigned(7 downto 0);
    variable v_fa, v_fb : unsigned(22 downto 0);
    variable v_za, v_zb : boolean;
    variable v_ia, v_ib : boolean;
    variable v_na, v_nb : boolean;
    variable v_mant     : unsigned(24 downto 0);
    variable v_exp      : signed(9 downto 0);
  begin
    if rising_edge(aclk) then
      -- 1: unpack ---------------------------------------------------------------------------------
      v_ea := unsigned(in_a(30 downto 23));
      v_eb := unsigned(in_b(30 downto 23));
      v_fa := unsigned(in_a(22 downto 0));
      v_fb := unsigned(in_b(22 downto 0));
      v_za := v_ea = 0;                    -- zero or subnormal (-> zero)
      v_zb := v_eb = 0;
      v_ia := v_ea = 255 and v_fa = 0;
      v_ib := v_eb = 255 and v_fb = 0;
      v_na := v_ea = 255 and v_fa /= 0;
      v_nb := v_eb = 255 and v_fb /= 0;
      if v_na or v_nb or (v_ia and v_zb) or (v_za and v_ib) then
        sb_class(1) <= C_NAN;
      elsif v_ia or v_ib then
        sb_class(1) <= C_INF;
      elsif v_za or v_zb then
        sb_class(1) <= C_ZERO;
      else
        sb_class(1) <= C_NORMAL;
      end if;
      s1_ma       <= '1' & v_fa;
      s1_mb       <= '1' & v_fb;
      sb_exp(1)   <= signed(resize(v_ea, 10)) + signed(resize(v_eb, 10)) - 127;
      sb_sign(1)  <= in_a(31) xor in_b(31);
      sb_valid(1) <= in_valid;

      -- 2, 3: product ----------------------------------------------------------------------------
      s2_prod <= s1_ma * s1_mb;
      s3_prod <= s2_prod;

      -- 4: normalise -----------------------------------------------------------------------------
      if s3_prod(47) = '1' then             -- product in [2, 4)
        s4_mant   <= s3_prod(47 downto 24);
        s4_guard  <= s3_prod(23);
        s4_sticky <= '1' when s3_prod(22 downto 0) /= 0 else '0';
        s4_exp    <= sb_exp(3) + 1;
      else                                  -- product in [1, 2)
        s4_mant   <= s3_prod(46 downto 23);
        s4_guard  <= s3_prod(22);
        s4_sticky <= '1' when s3_prod(21 downto 0) /= 0 else '0';
        s4_exp    <= sb_exp(3);
      end if;

      -- 5: round, range, pack --------------------------------------------------------------------
      v_mant := '0' & s4_mant;
      if s4_guard = '1' and (s4_sticky = '1' or s4_mant(0) = '1') then
        v_mant := v_mant + 1;
      end if;
      v_exp := s4_exp;
      if v_mant(24) = '1' then
        v_exp := v_exp + 1;
      end if;
      -- (an if chain, not a case: ghdl 2.0 writes a case with "when others" as a Verilog case
      -- without default, which Yosys reads as a latch)
      if sb_class(4) = C_NAN then
        s5_result <= x"7FC00000";
      elsif sb_class(4) = C_INF then
        s5_result <= sb_sign(4) & "1111111100000000000000000000000";
      elsif sb_class(4) = C_ZERO then
        s5_result <= sb_sign(4) & "0000000000000000000000000000000";
      elsif v_exp <= 0 then                 -- rounded magnitude below 2^-126: signed zero
        s5_result <= sb_sign(4) & "0000000000000000000000000000000";
      elsif v_exp >= 255 then               -- 2^128 or more: infinity
        s5_result <= sb_sign(4) & "1111111100000000000000000000000";
      else
        s5_result <= sb_sign(4) & std_logic_vector(v_exp(7 downto 0))
                     & std_logic_vector(v_mant(22 downto 0));
      end if;
      s5_valid <= sb_valid(4);

      -- sideband shift ----------------------------------------------------------------------------
      sb_valid(2 to 4) <= sb_valid(1 to 3);
      sb_sign(2 to 4)  <= sb_sign(1 to 3);
      sb_class(2 to 4) <= sb_class(1 to 3);
      sb_exp(2 to 3)   <= sb_exp(1 to 2);
    end if;
  end process;

  out_valid  <= s5_valid;
  out_result <= s5_result;

end architecture rtl;
