---------------------------------------------------------------------------------------------------
-- ZipML-PYNQ SGD engine: update deltas
---------------------------------------------------------------------------------------------------
-- Description
--   For one FIFO word of the sample being applied (copy B with double sampling) and its scalar
--   step S (Q8.23), computes the V lane deltas of docs/ENGINE.md 5.4:
--     delta_j = S * q_j                          QF = 0 (Q1)
--     delta_j = (S * q_j + 2^(QF-1)) >>> QF      otherwise (round half up)
--   FIFO words hold the raw codes for Qb (decoded here, no checks: they were checked when they
--   entered) and the smp2fix values (two Q8.23 lanes) for Q0.
--   Latency 2 + C_MUL_PIPE: product registered, C_MUL_PIPE more registers, then the rounding
--   shift registered.
--   Q1 and Q2 (q takes at most five values): the FIFO word and S are delayed instead, the
--   possible deltas D(v) of the word's S (v = -L .. L, shared by all lanes) are registered in
--   the last stage, and each lane selects D(q_j) combinationally from its decoded code (same
--   latency; the select fits into the LUTs of the model memory's subtraction).
--
-- Generics
--   G_BITS : precision.
-- Ports
--   clk; signed_mode; s_in (S, Q8.23); fifo_word; delta (V x DLW, lane l at l*DLW, DLW = delta_width(G_BITS)).
---------------------------------------------------------------------------------------------------

library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

library work;
use work.zipml_core_pkg.all;

entity zipml_delta is
  generic (
    G_BITS : natural
  );
  port (
    clk         : in  std_logic;
    signed_mode : in  std_logic;
    s_in        : in  std_logic_vector(31 downto 0);
    fifo_word   : in  std_logic_vector(63 downto 0);
    delta       : out std_logic_vector(lanes(G_BITS) * delta_width(G_BITS) - 1 downto 0)
  );
end entity zipml_delta;

architecture rtl of zipml_delta is
  constant V  : natural := lanes(G_BITS);
  constant QW : natural := q_width(G_BITS);
  constant QF : natural := q_frac(G_BITS);
  constant PW : natural := 32 + QW;                  -- product width
  constant DLW : natural := delta_width(G_BITS);
  constant NLEV : natural := q_levels(G_BITS);
  constant C_TABLE : boolean := G_BITS = 1 or G_BITS = 2;

  type t_prod is array (0 to V - 1) of signed(PW - 1 downto 0);
  signal q_upd  : std_logic_vector(V * QW - 1 downto 0);
  type t_pipe is array (0 to C_MUL_PIPE) of t_prod;
  signal prod_r : t_pipe := (others => (others => (others => '0')));
  signal err_unused : std_logic;
begin

  g_tab : if C_TABLE generate
    type t_words is array (1 to 2 + C_MUL_PIPE) of std_logic_vector(63 downto 0);
    type t_s is array (1 to 1 + C_MUL_PIPE) of signed(31 downto 0);
    type t_tab is array (-NLEV to NLEV) of signed(DLW - 1 downto 0);
    signal fw_d   : t_words := (others => (others => '0'));
    signal fw_last : std_logic_vector(63 downto 0);
    signal s_d    : t_s := (others => (others => '0'));
    signal tab    : t_tab := (others => (others => '0'));
  begin
    process (clk)
      variable p : signed(PW - 1 downto 0);
    begin
      if rising_edge(clk) then
        fw_d(1) <= fifo_word;
        fw_d(2 to 2 + C_MUL_PIPE) <= fw_d(1 to 1 + C_MUL_PIPE);
        s_d(1) <= signed(s_in);
        s_d(2 to 1 + C_MUL_PIPE) <= s_d(1 to C_MUL_PIPE);
        for k in -NLEV to NLEV loop
          p := mul_small(s_d(1 + C_MUL_PIPE), to_signed(k, QW));
          if QF /= 0 then
            p := shift_right(p + to_signed(2 ** QF / 2, PW), QF);
          end if;
          tab(k) <= resize(p, DLW);
        end loop;
      end if;
    end process;
    fw_last <= fw_d(2 + C_MUL_PIPE);

    u_dec : entity work.zipml_lane_decode
      generic map (G_BITS => G_BITS, G_COMB => true)
      port map (clk => clk, signed_mode => signed_mode, mask => (others => '1'),
                din => fw_last, err => err_unused, q_out => q_upd);

    process (all)
      variable q : signed(QW - 1 downto 0);
      variable d : signed(DLW - 1 downto 0);
    begin
      for l in 0 to V - 1 loop
        q := signed(q_upd(l * QW + QW - 1 downto l * QW));
        d := (others => '0');
        for k in -NLEV to NLEV loop
          if q = to_signed(k, QW) then
            d := tab(k);
          end if;
        end loop;
        delta(l * DLW + DLW - 1 downto l * DLW) <= std_logic_vector(d);
      end loop;
    end process;
  end generate;

  g_mul : if not C_TABLE generate
    g_qb : if G_BITS /= 0 generate
      u_dec : entity work.zipml_lane_decode
        generic map (G_BITS => G_BITS, G_COMB => true)
        port map (clk => clk, signed_mode => signed_mode, mask => (others => '1'),
                  din => fifo_word, err => err_unused, q_out => q_upd);
    end generate;
    g_q0 : if G_BITS = 0 generate
      q_upd <= fifo_word;
    end generate;

    process (clk)
      variable p : signed(PW - 1 downto 0);
    begin
      if rising_edge(clk) then
        for l in 0 to V - 1 loop
          if G_BITS = 4 then                 -- |q| <= 8: shift-and-add (LUTs, no DSP)
            prod_r(0)(l) <= mul_small(signed(s_in),
                                      signed(q_upd(l * QW + QW - 1 downto l * QW)));
          else
            prod_r(0)(l) <= signed(s_in) * signed(q_upd(l * QW + QW - 1 downto l * QW));
          end if;
        end loop;
        prod_r(1 to C_MUL_PIPE) <= prod_r(0 to C_MUL_PIPE - 1);
        for l in 0 to V - 1 loop
          p := shift_right(prod_r(C_MUL_PIPE)(l) + to_signed(2 ** QF / 2, PW), QF);
          delta(l * DLW + DLW - 1 downto l * DLW) <= std_logic_vector(resize(p, DLW));
        end loop;
      end if;
    end process;
  end generate;

end architecture rtl;
