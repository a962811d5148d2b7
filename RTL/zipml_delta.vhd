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
--
-- Generics
--   G_BITS : precision.
-- Ports
--   clk; signed_mode; s_in (S, Q8.23); fifo_word; delta (V x C_DELTA_W, lane l at l*C_DELTA_W).
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
    delta       : out std_logic_vector(lanes(G_BITS) * C_DELTA_W - 1 downto 0)
  );
end entity zipml_delta;

architecture rtl of zipml_delta is
  constant V  : natural := lanes(G_BITS);
  constant QW : natural := q_width(G_BITS);
  constant QF : natural := q_frac(G_BITS);
  constant PW : natural := 32 + QW;                  -- product width

  type t_prod is array (0 to V - 1) of signed(PW - 1 downto 0);
  signal q_upd  : std_logic_vector(V * QW - 1 downto 0);
  type t_pipe is array (0 to C_MUL_PIPE) of t_prod;
  signal prod_r : t_pipe := (others => (others => (others => '0')));
  signal err_unused : std_logic;
begin

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
        if G_BITS = 1 then                 -- q in {-1, 0, 1}: a multiplexer
          case q_upd(l * QW + 1 downto l * QW) is
            when "01"   => prod_r(0)(l) <= resize(signed(s_in), PW);
            when "11"   => prod_r(0)(l) <= -resize(signed(s_in), PW);
            when others => prod_r(0)(l) <= (others => '0');
          end case;
        elsif G_BITS = 2 or G_BITS = 4 then    -- |q| <= 8: shift-and-add (LUTs, no DSP)
          prod_r(0)(l) <= mul_small(signed(s_in),
                                    signed(q_upd(l * QW + QW - 1 downto l * QW)));
        else
          prod_r(0)(l) <= signed(s_in) * signed(q_upd(l * QW + QW - 1 downto l * QW));
        end if;
      end loop;
      prod_r(1 to C_MUL_PIPE) <= prod_r(0 to C_MUL_PIPE - 1);
      for l in 0 to V - 1 loop
        if QF = 0 then
          p := prod_r(C_MUL_PIPE)(l);
        else
          p := shift_right(prod_r(C_MUL_PIPE)(l) + to_signed(2 ** QF / 2, PW), QF);
        end if;
        delta(l * C_DELTA_W + C_DELTA_W - 1 downto l * C_DELTA_W) <=
          std_logic_vector(resize(p, C_DELTA_W));
      end loop;
    end if;
  end process;

end architecture rtl;
