-------------------------------------------------------------------------------------------------
-- zipml_fp_fix2flt_portable: fix2flt(A, 30) of docs/ENGINE.md 2.3 in portable VHDL.
--
-- A is a signed 64-bit two's-complement integer standing for A * 2^-30. The result is the
-- binary32 nearest to that value (24-bit significand, round to nearest, ties to even); an exact
-- zero gives +0. |A * 2^-30| lies in [2^-30, 2^33], so the result never overflows nor flushes.
--
-- Pipeline (latency C_PORT_FP_FIX2FLT_LATENCY = 4, one operation per cycle, no back-pressure):
--   1 sign and magnitude (|A| as a 64-bit unsigned, 2^63 included)
--   2 normalise, first half (leading-zero shifts by 32, 16, 8)
--   3 normalise, second half (shifts by 4, 2, 1)
--   4 round to nearest even, pack
-------------------------------------------------------------------------------------------------
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

entity zipml_fp_fix2flt_portable is
  port (
    aclk       : in  std_logic;                      -- clock, rising edge
    in_valid   : in  std_logic;                      -- an operation enters this cycle
    in_a       : in  std_logic_vector(63 downto 0);  -- signed fixed point, 30 fraction bits
    out_valid  : out std_logic;                      -- out_result holds a result
    out_result : out std_logic_vector(31 downto 0)); -- binary32 fix2flt(A, 30)
end entity zipml_fp_fix2flt_portable;

architecture rtl of zipml_fp_fix2flt_portable is

  constant C_FRAC : natural := 30;

  signal s1_valid : std_logic := '0';
  signal s1_sign  : std_logic;
  signal s1_mag   : unsigned(63 downto 0);
  signal s2_valid : std_logic := '0';
  signal s2_sign  : std_logic;
  signal s2_zero  : std_logic;
  signal s2_norm  : unsigned(63 downto 0);
  signal s2_lz    : unsigned(5 downto 0);
  signal s3_valid : std_logic := '0';
  signal s3_sign  : std_logic;
  signal s3_zero  : std_logic;
  signal s3_norm  : unsigned(63 downto 0);
  signal s3_lz    : unsigned(5 downto 0);
  signal s4_valid : std_logic := '0';
  signal s4_result : std_logic_vector(31 downto 0);

begin

  p_pipe : process (aclk)
    variable v_n      : unsigned(63 downto 0);
    variable v_lz     : unsigned(5 downto 0);
    variable v_mant   : unsigned(24 downto 0);
    variable v_sticky : std_logic;
    variable v_exp    : unsigned(7 downto 0);
  begin
    if rising_edge(aclk) then
      -- 1: sign and magnitude ------------------------------------------------------------------
      s1_sign <= in_a(63);
      if in_a(63) = '1' then
        s1_mag <= unsigned(not in_a) + 1;  -- -(-2^63) = 2^63 fits the unsigned magnitude
      else
        s1_mag <= unsigned(in_a);
      end if;
      s1_valid <= in_valid;

      -- 2: normalise by 32, 16, 8 --------------------------------------------------------------
      v_n  := s1_mag;
      v_lz := (others => '0');
      for k in 5 downto 3 loop
        if v_n(63 downto 64 - 2**k) = 0 then
          v_n     := shift_left(v_n, 2**k);
          v_lz(k) := '1';
        end if;
      end loop;
      s2_norm  <= v_n;
      s2_lz    <= v_lz;
      s2_zero  <= '1' when s1_mag = 0 else '0';
      s2_sign  <= s1_sign;
      s2_valid <= s1_valid;

      -- 3: normalise by 4, 2, 1 ----------------------------------------------------------------
      v_n  := s2_norm;
      v_lz := s2_lz;
      for k in 2 downto 0 loop
        if v_n(63 downto 64 - 2**k) = 0 then
          v_n     := shift_left(v_n, 2**k);
          v_lz(k) := '1';
        end if;
      end loop;
      s3_norm  <= v_n;
      s3_lz    <= v_lz;
      s3_zero  <= s2_zero;
      s3_sign  <= s2_sign;
      s3_valid <= s2_valid;

      -- 4: round and pack ----------------------------------------------------------------------
      -- leading one at bit 63 stands for 2^(63 - lz - 30): biased exponent 127 + 33 - lz
      v_sticky := '1' when s3_norm(38 downto 0) /= 0 else '0';
      v_mant   := '0' & s3_norm(63 downto 40);
      if s3_norm(39) = '1' and (v_sticky = '1' or v_mant(0) = '1') then
        v_mant := v_mant + 1;
      end if;
      v_exp := to_unsigned(127 + 63 - C_FRAC, 8) - resize(s3_lz, 8);
      if v_mant(24) = '1' then
        v_exp := v_exp + 1;
      end if;
      if s3_zero = '1' then
        s4_result <= (others => '0');     -- exact zero -> +0
      else
        s4_result <= s3_sign & std_logic_vector(v_exp) & std_logic_vector(v_mant(22 downto 0));
      end if;
      s4_valid <= s3_valid;
    end if;
  end process;

  out_valid  <= s4_valid;
  out_result <= s4_result;

end architecture rtl;
