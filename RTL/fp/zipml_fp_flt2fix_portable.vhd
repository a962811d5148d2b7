-------------------------------------------------------------------------------------------------
-- zipml_fp_flt2fix_portable: flt2fix(v) of docs/ENGINE.md 2.3 in portable VHDL.
--
-- Result: v * 2^23 rounded to an integer (ties to even), then clamped to [-2^31, 2^31 - 1]
-- (Q8.23). Subnormal v -> 0; NaN -> 0 (out_sat = 0); +inf -> 2^31 - 1, -inf -> -2^31; out_sat
-- is 1 exactly when the result was clamped (including infinities).
--
-- Every binary32 of magnitude >= 128 is a multiple of 2^-16, so v * 2^23 is then an integer
-- and rounding cannot cross the clamp bounds: the result saturates exactly when v >= 256 or
-- v < -256 (v = -256 gives -2^31 without saturation), a test of the operand bits alone.
--
-- Pipeline (latency C_PORT_FP_FLT2FIX_LATENCY = 3, one operation per cycle, no back-pressure):
--   1 unpack, classify, shift distance
--   2 right shift of the significand (0 .. 32 positions) keeping guard and sticky bits
--   3 round to nearest even, negate, clamp / special values
-------------------------------------------------------------------------------------------------
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

entity zipml_fp_flt2fix_portable is
  port (
    aclk       : in  std_logic;                      -- clock, rising edge
    in_valid   : in  std_logic;                      -- an operation enters this cycle
    in_a       : in  std_logic_vector(31 downto 0);  -- binary32 operand v
    out_valid  : out std_logic;                      -- out_result / out_sat hold a result
    out_result : out std_logic_vector(31 downto 0);  -- Q8.23 flt2fix(v), two's complement
    out_sat    : out std_logic);                     -- 1: the result was clamped
end entity zipml_fp_flt2fix_portable;

architecture rtl of zipml_fp_flt2fix_portable is

  -- class of the operand: 0 regular, 1 result zero (zero, subnormal, NaN or |v| < 2^-24),
  -- 2 saturate positive, 3 saturate negative
  subtype t_class is unsigned(1 downto 0);
  constant C_REGULAR : t_class := "00";
  constant C_ZERO    : t_class := "01";
  constant C_SAT_POS : t_class := "10";
  constant C_SAT_NEG : t_class := "11";

  signal s1_valid : std_logic := '0';
  signal s1_class : t_class;
  signal s1_sign  : std_logic;
  signal s1_sig   : unsigned(31 downto 0);   -- 1.f * 2^31
  signal s1_dist  : unsigned(5 downto 0);    -- right shift 0 .. 32
  signal s2_valid : std_logic := '0';
  signal s2_class : t_class;
  signal s2_sign  : std_logic;
  signal s2_mag   : unsigned(31 downto 0);
  signal s2_guard : std_logic;
  signal s2_sticky : std_logic;
  signal s3_valid : std_logic := '0';
  signal s3_result : std_logic_vector(31 downto 0);
  signal s3_sat   : std_logic;

begin

  p_pipe : process (aclk)
    variable v_e    : unsigned(7 downto 0);
    variable v_f    : unsigned(22 downto 0);
    variable v_w    : unsigned(63 downto 0);
    variable v_mag  : unsigned(31 downto 0);
  begin
    if rising_edge(aclk) then
      -- 1: unpack and classify -------------------------------------------------------------------
      -- v = 1.f * 2^(E-127), v * 2^23 = (1.f * 2^31) * 2^-(135 - E): shift 1.f * 2^31 right by
      -- 135 - E. E > 135 (or E = 135 except v = -256) saturates; 135 - E > 32 rounds to 0.
      v_e := unsigned(in_a(30 downto 23));
      v_f := unsigned(in_a(22 downto 0));
      if v_e = 255 and v_f /= 0 then                       -- NaN -> 0, no SAT
        s1_class <= C_ZERO;
      elsif v_e > 135 or (v_e = 135 and (in_a(31) = '0' or v_f /= 0)) then
        if in_a(31) = '1' then
          s1_class <= C_SAT_NEG;
        else
          s1_class <= C_SAT_POS;
        end if;
      elsif v_e < 135 - 32 then                            -- zero, subnormal, |v| < 2^-24
        s1_class <= C_ZERO;
      else
        s1_class <= C_REGULAR;
      end if;
      s1_sig   <= '1' & v_f & "00000000";
      s1_dist  <= resize(to_unsigned(135, 8) - v_e, 6);    -- used only when 103 <= E <= 135
      s1_sign  <= in_a(31);
      s1_valid <= in_valid;

      -- 2: shift with guard and sticky ----------------------------------------------------------
      -- 64-bit window: integer part in bits 63..32, the fraction below; at most 32 positions,
      -- so no bit of the significand falls off the window.
      v_w := s1_sig & x"00000000";
      for k in 5 downto 0 loop
        if s1_dist(k) = '1' then
          v_w := shift_right(v_w, 2**k);
        end if;
      end loop;
      s2_mag    <= v_w(63 downto 32);
      s2_guard  <= v_w(31);
      s2_sticky <= '1' when v_w(30 downto 0) /= 0 else '0';
      s2_class  <= s1_class;
      s2_sign   <= s1_sign;
      s2_valid  <= s1_valid;

      -- 3: round, negate, clamp -----------------------------------------------------------------
      -- the rounded magnitude is at most 2^31 (only for v = -256), which negates to -2^31
      v_mag := s2_mag;
      if s2_guard = '1' and (s2_sticky = '1' or s2_mag(0) = '1') then
        v_mag := v_mag + 1;
      end if;
      if s2_sign = '1' then
        v_mag := (not v_mag) + 1;
      end if;
      -- (an if chain, not a case: ghdl 2.0 writes a case with "when others" as a Verilog case
      -- without default, which Yosys reads as a latch)
      if s2_class = C_ZERO then
        s3_result <= (others => '0');
        s3_sat    <= '0';
      elsif s2_class = C_SAT_POS then
        s3_result <= x"7FFFFFFF";
        s3_sat    <= '1';
      elsif s2_class = C_SAT_NEG then
        s3_result <= x"80000000";
        s3_sat    <= '1';
      else
        s3_result <= std_logic_vector(v_mag);
        s3_sat    <= '0';
      end if;
      s3_valid <= s2_valid;
    end if;
  end process;

  out_valid  <= s3_valid;
  out_result <= s3_result;
  out_sat    <= s3_sat;

end architecture rtl;
