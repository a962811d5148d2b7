---------------------------------------------------------------------------------------------------
-- ZipML-PYNQ SGD engine: lane decode (one precision per instance)
---------------------------------------------------------------------------------------------------
-- Description
--   Turns one 64-bit stream word into the V signed sample values q of its lanes
--   (docs/ENGINE.md 3.2): Qb codes k -> k (unsigned data) or 2k - L (signed data); Q0 binary32
--   values -> smp2fix (Q8.23, round to nearest even). Lanes whose mask bit is 0 (j >= d) give
--   q = 0 and never raise an error.
--
--   Two outputs:
--   - err (combinational, same cycle as din): some unmasked lane is a data error
--     (Qb: code > L; Q0: NaN, infinity or smp2fix out of range). Used by the control at the
--     moment the word is accepted.
--   - q_out: the decoded lanes, C_DEC_LATENCY = 2 cycles after din (every precision).
--   With G_COMB = true (Qb only) the entity is combinational (q_out in the cycle of din); the
--   delta unit uses it to decode FIFO words, whose codes were checked when they entered.
--
-- Generics
--   G_BITS : precision (0, 1, 2, 4, 8).  G_COMB : combinational variant (Qb only).
-- Ports
--   clk; signed_mode (MODE.SIGNED, constant during a run); mask (V bits, lane j valid);
--   din (stream word); err; q_out (V x q_width(G_BITS) bits, lane l at l*QW).
---------------------------------------------------------------------------------------------------

library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

library work;
use work.zipml_core_pkg.all;

entity zipml_lane_decode is
  generic (
    G_BITS : natural;
    G_COMB : boolean := false
  );
  port (
    clk         : in  std_logic;
    signed_mode : in  std_logic;
    mask        : in  std_logic_vector(lanes(G_BITS) - 1 downto 0);
    din         : in  std_logic_vector(63 downto 0);
    err         : out std_logic;
    q_out       : out std_logic_vector(lanes(G_BITS) * q_width(G_BITS) - 1 downto 0)
  );
end entity zipml_lane_decode;

architecture rtl of zipml_lane_decode is
  constant V  : natural := lanes(G_BITS);
  constant LB : natural := lane_bits(G_BITS);
  constant QW : natural := q_width(G_BITS);
  constant NLEV : natural := q_levels(G_BITS);

  subtype t_q is std_logic_vector(V * QW - 1 downto 0);
  signal q_comb, q_r1, q_r2 : t_q := (others => '0');
begin

  -------------------------------------------------------------------------------------------------
  -- Qb
  -------------------------------------------------------------------------------------------------
  g_qb : if G_BITS /= 0 generate
    process (all)
      variable k    : unsigned(LB - 1 downto 0);
      variable q    : signed(QW - 1 downto 0);
      variable e    : std_logic;
    begin
      e := '0';
      for l in 0 to V - 1 loop
        k := unsigned(din(l * LB + LB - 1 downto l * LB));
        if signed_mode = '1' then
          q := signed(resize(k, QW)) + signed(resize(k, QW)) - to_signed(NLEV, QW);
        else
          q := signed(resize(k, QW));
        end if;
        if mask(l) = '0' then
          q := (others => '0');
        elsif G_BITS > 1 and to_integer(k) > NLEV then
          e := '1';
        end if;
        q_comb(l * QW + QW - 1 downto l * QW) <= std_logic_vector(q);
      end loop;
      err <= e;
    end process;

    gen_comb : if G_COMB generate
      q_out <= q_comb;
    end generate;
    gen_reg : if not G_COMB generate
      process (clk)
      begin
        if rising_edge(clk) then
          q_r1 <= q_comb;
          q_r2 <= q_r1;
        end if;
      end process;
      q_out <= q_r2;
    end generate;
  end generate;

  -------------------------------------------------------------------------------------------------
  -- Q0: smp2fix on two binary32 lanes
  -------------------------------------------------------------------------------------------------
  g_q0 : if G_BITS = 0 generate
    type t_big is array (0 to V - 1) of unsigned(57 downto 0);
    signal big_r  : t_big := (others => (others => '0'));
    signal sign_r : std_logic_vector(V - 1 downto 0) := (others => '0');
    signal zero_r : std_logic_vector(V - 1 downto 0) := (others => '0');
  begin
    assert not G_COMB report "zipml_lane_decode: G_COMB is for Qb only" severity failure;

    -- error check, combinational
    process (all)
      variable ex : unsigned(7 downto 0);
      variable mt : std_logic_vector(22 downto 0);
      variable e  : std_logic;
    begin
      e := '0';
      for l in 0 to V - 1 loop
        ex := unsigned(din(32 * l + 30 downto 32 * l + 23));
        mt := din(32 * l + 22 downto 32 * l);
        if mask(l) = '1' then
          if ex = 255 then
            e := '1';                                  -- NaN or infinity
          elsif ex >= 127 + 8 then                     -- |v * 2^23| >= 2^31
            if not (ex = 127 + 8 and din(32 * l + 31) = '1' and unsigned(mt) = 0) then
              e := '1';                                -- only -2^31 exactly is in range
            end if;
          end if;
        end if;
      end loop;
      err <= e;
    end process;

    -- stage 1: T = M << (ex - 127 + 25): bits 57..25 are the integer part of |v| * 2^23
    process (clk)
      variable ex : integer;
      variable m  : unsigned(57 downto 0);
    begin
      if rising_edge(clk) then
        for l in 0 to V - 1 loop
          ex := to_integer(unsigned(din(32 * l + 30 downto 32 * l + 23)));
          m  := resize(unsigned('1' & din(32 * l + 22 downto 32 * l)), 58);
          sign_r(l) <= din(32 * l + 31);
          -- value * 2^23 = M * 2^(ex - 127); T = M * 2^(ex - 127 + 25)
          if mask(l) = '0' or ex = 0 or ex = 255 or ex - 127 < -25 or ex - 127 > 8 then
            zero_r(l) <= '1';
            big_r(l)  <= (others => '0');
          else
            zero_r(l) <= '0';
            big_r(l)  <= shift_left(m, ex - 127 + 25);
          end if;
        end loop;
      end if;
    end process;

    -- stage 2: round to nearest, ties to even, and apply the sign
    process (clk)
      variable ip  : unsigned(32 downto 0);
      variable up  : std_logic;
      variable res : signed(32 downto 0);
    begin
      if rising_edge(clk) then
        for l in 0 to V - 1 loop
          ip := big_r(l)(57 downto 25);
          up := big_r(l)(24) and ((or big_r(l)(23 downto 0)) or big_r(l)(25));
          if up = '1' then
            ip := ip + 1;
          end if;
          if sign_r(l) = '1' then
            res := -signed(ip);
          else
            res := signed(ip);
          end if;
          if zero_r(l) = '1' then
            res := (others => '0');
          end if;
          q_r2(l * QW + QW - 1 downto l * QW) <= std_logic_vector(res(31 downto 0));
        end loop;
      end if;
    end process;
    q_out <= q_r2;
  end generate;

end architecture rtl;
