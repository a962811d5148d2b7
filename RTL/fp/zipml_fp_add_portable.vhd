-------------------------------------------------------------------------------------------------
-- zipml_fp_add_portable: fadd(a, b) of docs/ENGINE.md 2.2 in portable VHDL.
--
-- Numerics (exactly ENGINE.md 2.2): subnormal operands are replaced by zero of the same sign;
-- the exact sum is rounded to a 24-bit significand, round to nearest, ties to even, with an
-- unbounded exponent; a rounded magnitude below 2^-126 gives zero with the sign of the exact
-- result, 2^128 or more gives infinity; NaN operands, inf + (-inf) give 0x7FC00000;
-- x + (-x) = +0, (-0) + (-0) = -0.
--
-- Pipeline (latency C_PORT_FP_ADD_LATENCY = 6, one operation per cycle, no back-pressure):
--   1 unpack, flush subnormals, special cases, order operands by magnitude (|x| >= |y|)
--   2 align y to x: right shift by ex - ey with a sticky bit
--   3 add / subtract the 27-bit significands (x - y - sticky, so the result is the exact floor)
--   4 normalise, first half (leading-zero shifts by 16 and 8)
--   5 normalise, second half (shifts by 4, 2, 1)
--   6 round to nearest even, exponent range (flush / overflow), pack
--
-- Why the result is exact: y's significand is kept with 3 extra bits (guard positions) plus a
-- sticky flag s for the bits shifted out below them. s = 1 only if ex - ey >= 4, and then the
-- effective difference keeps its leading one within 2 positions of x's, so normalisation shifts
-- left by at most 2 and the bits shifted in lie below the guard bit, where only their OR
-- (known to be 1 through s) matters. Stage 3 subtracts s as a borrow, which makes the 28-bit
-- result the floor of the exact value in units of the last kept position.
-------------------------------------------------------------------------------------------------
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

entity zipml_fp_add_portable is
  port (
    aclk       : in  std_logic;                      -- clock, rising edge
    in_valid   : in  std_logic;                      -- an operation enters this cycle
    in_a       : in  std_logic_vector(31 downto 0);  -- binary32 operand a
    in_b       : in  std_logic_vector(31 downto 0);  -- binary32 operand b
    out_valid  : out std_logic;                      -- out_result holds a result
    out_result : out std_logic_vector(31 downto 0)); -- binary32 fadd(a, b)
end entity zipml_fp_add_portable;

architecture rtl of zipml_fp_add_portable is

  -- special-case class of a result, decided in stage 1 and carried to stage 6
  type t_special is record
    nan      : std_logic;  -- result is the canonical NaN
    inf      : std_logic;  -- result is infinity with sign sx
    zero     : std_logic;  -- both operands zero: result is zero with sign zsign
    zsign    : std_logic;
  end record;
  constant C_NO_SPECIAL : t_special := ('0', '0', '0', '0');

  -- stage 1
  signal s1_valid   : std_logic := '0';
  signal s1_sx      : std_logic;
  signal s1_sub     : std_logic;
  signal s1_ex      : unsigned(7 downto 0);
  signal s1_mx      : unsigned(23 downto 0);
  signal s1_my      : unsigned(23 downto 0);
  signal s1_dist    : unsigned(4 downto 0);         -- min(ex - ey, 31)
  signal s1_spec    : t_special;
  -- stage 2
  signal s2_valid   : std_logic := '0';
  signal s2_sx      : std_logic;
  signal s2_sub     : std_logic;
  signal s2_ex      : unsigned(7 downto 0);
  signal s2_mx      : unsigned(26 downto 0);
  signal s2_my      : unsigned(26 downto 0);
  signal s2_sticky  : std_logic;
  signal s2_spec    : t_special;
  -- stage 3
  signal s3_valid   : std_logic := '0';
  signal s3_sx      : std_logic;
  signal s3_ex      : unsigned(7 downto 0);
  signal s3_sum     : unsigned(27 downto 0);
  signal s3_sticky  : std_logic;
  signal s3_spec    : t_special;
  -- stage 4
  signal s4_valid   : std_logic := '0';
  signal s4_sx      : std_logic;
  signal s4_ex      : unsigned(7 downto 0);
  signal s4_norm    : unsigned(31 downto 0);
  signal s4_lz      : unsigned(4 downto 0);
  signal s4_sumzero : std_logic;
  signal s4_sticky  : std_logic;
  signal s4_spec    : t_special;
  -- stage 5
  signal s5_valid   : std_logic := '0';
  signal s5_sx      : std_logic;
  signal s5_ex      : unsigned(7 downto 0);
  signal s5_norm    : unsigned(31 downto 0);
  signal s5_lz      : unsigned(4 downto 0);
  signal s5_sumzero : std_logic;
  signal s5_sticky  : std_logic;
  signal s5_spec    : t_special;
  -- stage 6
  signal s6_valid   : std_logic := '0';
  signal s6_result  : std_logic_vector(31 downto 0);

begin

  -- 1: unpack, specials, order by magnitude ----------------------------------------------------
  p_s1 : process (aclk)
    variable v_ea, v_eb     : unsigned(7 downto 0);
    variable v_fa, v_fb     : unsigned(22 downto 0);
    variable v_za, v_zb     : boolean;   -- zero or subnormal
    variable v_ia, v_ib     : boolean;   -- infinity
    variable v_na, v_nb     : boolean;   -- NaN
    variable v_maga, v_magb : unsigned(30 downto 0);
    variable v_a_big        : boolean;
    variable v_ex, v_ey     : unsigned(7 downto 0);
    variable v_fx, v_fy     : unsigned(22 downto 0);
    variable v_d            : unsigned(7 downto 0);
    variable v_spec         : t_special;
  begin
    if rising_edge(aclk) then
      v_ea := unsigned(in_a(30 downto 23));
      v_eb := unsigned(in_b(30 downto 23));
      v_fa := unsigned(in_a(22 downto 0));
      v_fb := unsigned(in_b(22 downto 0));
      v_za := v_ea = 0;
      v_zb := v_eb = 0;
      v_ia := v_ea = 255 and v_fa = 0;
      v_ib := v_eb = 255 and v_fb = 0;
      v_na := v_ea = 255 and v_fa /= 0;
      v_nb := v_eb = 255 and v_fb /= 0;
      -- magnitudes with subnormals flushed (then an unsigned compare orders the values)
      v_maga := unsigned(in_a(30 downto 0));
      v_magb := unsigned(in_b(30 downto 0));
      if v_za then
        v_maga := (others => '0');
      end if;
      if v_zb then
        v_magb := (others => '0');
      end if;
      v_a_big := v_maga >= v_magb;
      if v_a_big then
        s1_sx <= in_a(31);
        v_ex  := v_ea;  v_fx := v_fa;  v_ey := v_eb;  v_fy := v_fb;
      else
        s1_sx <= in_b(31);
        v_ex  := v_eb;  v_fx := v_fb;  v_ey := v_ea;  v_fy := v_fa;
      end if;
      -- significands with the hidden bit; zero (incl. flushed subnormals) -> 0
      if v_ex = 0 then
        s1_mx <= (others => '0');
      else
        s1_mx <= '1' & v_fx;
      end if;
      if v_ey = 0 then
        s1_my <= (others => '0');
      else
        s1_my <= '1' & v_fy;
      end if;
      s1_ex  <= v_ex;
      s1_sub <= in_a(31) xor in_b(31);
      v_d := v_ex - v_ey;                 -- >= 0 because |x| >= |y|
      if v_d > 31 then
        s1_dist <= (others => '1');
      else
        s1_dist <= v_d(4 downto 0);
      end if;
      v_spec := C_NO_SPECIAL;
      if v_na or v_nb or (v_ia and v_ib and in_a(31) /= in_b(31)) then
        v_spec.nan := '1';
      elsif v_ia or v_ib then
        v_spec.inf := '1';                -- |x| is the infinity, so its sign is sx
      elsif v_za and v_zb then
        v_spec.zero  := '1';
        v_spec.zsign := in_a(31) and in_b(31);
      end if;
      s1_spec  <= v_spec;
      s1_valid <= in_valid;
    end if;
  end process;

  -- 2: alignment shift of y with sticky ----------------------------------------------------------
  p_s2 : process (aclk)
    variable v_y      : unsigned(26 downto 0);
    variable v_sticky : std_logic;
  begin
    if rising_edge(aclk) then
      v_y      := s1_my & "000";
      v_sticky := '0';
      for k in 4 downto 0 loop
        if s1_dist(k) = '1' then
          if v_y(2**k - 1 downto 0) /= 0 then
            v_sticky := '1';
          end if;
          v_y := shift_right(v_y, 2**k);
        end if;
      end loop;
      s2_my     <= v_y;
      s2_sticky <= v_sticky;
      s2_mx     <= s1_mx & "000";
      s2_sx     <= s1_sx;
      s2_sub    <= s1_sub;
      s2_ex     <= s1_ex;
      s2_spec   <= s1_spec;
      s2_valid  <= s1_valid;
    end if;
  end process;

  -- 3: add / subtract ----------------------------------------------------------------------------
  p_s3 : process (aclk)
  begin
    if rising_edge(aclk) then
      if s2_sub = '1' then
        -- floor of x - (y + sticky part): borrow one unit when sticky bits were shifted out
        if s2_sticky = '1' then
          s3_sum <= ('0' & s2_mx) - ('0' & s2_my) - 1;
        else
          s3_sum <= ('0' & s2_mx) - ('0' & s2_my);
        end if;
      else
        s3_sum <= ('0' & s2_mx) + ('0' & s2_my);
      end if;
      s3_sticky <= s2_sticky;
      s3_sx     <= s2_sx;
      s3_ex     <= s2_ex;
      s3_spec   <= s2_spec;
      s3_valid  <= s2_valid;
    end if;
  end process;

  -- 4: normalise, shifts by 16 and 8 -------------------------------------------------------------
  p_s4 : process (aclk)
    variable v_n  : unsigned(31 downto 0);
    variable v_lz : unsigned(4 downto 0);
  begin
    if rising_edge(aclk) then
      v_n  := s3_sum & "0000";
      v_lz := (others => '0');
      for k in 4 downto 3 loop
        if v_n(31 downto 32 - 2**k) = 0 then
          v_n     := shift_left(v_n, 2**k);
          v_lz(k) := '1';
        end if;
      end loop;
      s4_norm    <= v_n;
      s4_lz      <= v_lz;
      s4_sumzero <= '1' when s3_sum = 0 else '0';
      s4_sticky  <= s3_sticky;
      s4_sx      <= s3_sx;
      s4_ex      <= s3_ex;
      s4_spec    <= s3_spec;
      s4_valid   <= s3_valid;
    end if;
  end process;

  -- 5: normalise, shifts by 4, 2, 1 ---------------------------------------------------------------
  p_s5 : process (aclk)
    variable v_n  : unsigned(31 downto 0);
    variable v_lz : unsigned(4 downto 0);
  begin
    if rising_edge(aclk) then
      v_n  := s4_norm;
      v_lz := s4_lz;
      for k in 2 downto 0 loop
        if v_n(31 downto 32 - 2**k) = 0 then
          v_n     := shift_left(v_n, 2**k);
          v_lz(k) := '1';
        end if;
      end loop;
      s5_norm    <= v_n;
      s5_lz      <= v_lz;
      s5_sumzero <= s4_sumzero;
      s5_sticky  <= s4_sticky;
      s5_sx      <= s4_sx;
      s5_ex      <= s4_ex;
      s5_spec    <= s4_spec;
      s5_valid   <= s4_valid;
    end if;
  end process;

  -- 6: round, range, pack -------------------------------------------------------------------------
  -- The leading one is at bit 31 of s5_norm, which stands for 2^(ex - 126 - lz): the biased
  -- exponent of the result is ex + 1 - lz (+1 if rounding carries out).
  p_s6 : process (aclk)
    variable v_mant   : unsigned(24 downto 0);
    variable v_guard  : std_logic;
    variable v_sticky : std_logic;
    variable v_exp    : signed(9 downto 0);
  begin
    if rising_edge(aclk) then
      v_guard  := s5_norm(7);
      v_sticky := s5_sticky;
      if s5_norm(6 downto 0) /= 0 then
        v_sticky := '1';
      end if;
      v_mant := '0' & s5_norm(31 downto 8);
      if v_guard = '1' and (v_sticky = '1' or v_mant(0) = '1') then
        v_mant := v_mant + 1;
      end if;
      v_exp := signed(resize(s5_ex, 10)) + 1 - signed(resize(s5_lz, 10));
      if v_mant(24) = '1' then            -- 1.111..1 rounded up to 10.000..0
        v_exp := v_exp + 1;
      end if;
      if s5_spec.nan = '1' then
        s6_result <= x"7FC00000";
      elsif s5_spec.inf = '1' then
        s6_result <= s5_sx & "1111111100000000000000000000000";
      elsif s5_spec.zero = '1' then
        s6_result <= s5_spec.zsign & "0000000000000000000000000000000";
      elsif s5_sumzero = '1' then         -- x + (-x): +0
        s6_result <= (others => '0');
      elsif v_exp <= 0 then               -- rounded magnitude below 2^-126: signed zero
        s6_result <= s5_sx & "0000000000000000000000000000000";
      elsif v_exp >= 255 then             -- 2^128 or more: infinity
        s6_result <= s5_sx & "1111111100000000000000000000000";
      else
        -- after a carry v_mant(22 downto 0) is all zeros, as the significand 1.0 requires
        s6_result <= s5_sx & std_logic_vector(v_exp(7 downto 0))
                     & std_logic_vector(v_mant(22 downto 0));
      end if;
      s6_valid <= s5_valid;
    end if;
  end process;

  out_valid  <= s6_valid;
  out_result <= s6_result;

end architecture rtl;
