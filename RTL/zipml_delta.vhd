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
--   Latency 2 + C_MUL_PIPE: decoded codes and S registered, the product (Q4: two partial sums
--   of the shift-and-add) registered C_MUL_PIPE stages later, then the rounding shift
--   registered (registers in front of the arithmetic, not behind it: Yosys does not retime).
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

    -- timing: the FIFO word (a block RAM output) and S are decoded and registered first, the
    -- product is formed from registers (Q4: two partial sums of the shift-and-add in one
    -- stage, their sum with the rounding in the last); latency unchanged (2 + C_MUL_PIPE)
    g_pipe : block
      type t_q is array (0 to V - 1) of signed(QW - 1 downto 0);
      type t_part is array (0 to V - 1) of signed(PW - 1 downto 0);
      signal s_r   : signed(32 downto 0) := (others => '0');     -- S
      signal sn_r  : signed(32 downto 0) := (others => '0');     -- -S
      signal q_r   : t_q := (others => (others => '0'));
      signal pa, pb : t_part := (others => (others => '0'));     -- Q4: partial sums
      type t_dpipe is array (1 to C_MUL_PIPE) of t_prod;
      signal pd    : t_dpipe := (others => (others => (others => '0')));
    begin
      assert G_BITS /= 4 or C_MUL_PIPE = 1
        report "zipml_delta: the Q4 partial sums assume C_MUL_PIPE = 1" severity failure;
      process (clk)
        variable p  : signed(PW - 1 downto 0);
        variable xs : signed(32 downto 0);
        variable m  : unsigned(QW - 1 downto 0);
        variable t0, t1, t2, t3 : signed(PW - 1 downto 0);
      begin
        if rising_edge(clk) then
          -- stage a: decoded q, S and -S registered
          s_r  <= resize(signed(s_in), 33);
          sn_r <= -resize(signed(s_in), 33);
          for l in 0 to V - 1 loop
            q_r(l) <= signed(q_upd(l * QW + QW - 1 downto l * QW));
          end loop;
          -- stage b (the first C_MUL_PIPE stage): the product, or Q4's two partial sums
          for l in 0 to V - 1 loop
            if G_BITS = 4 then               -- |q| <= 8: x * |q| with x = S or -S by the sign
              if q_r(l)(QW - 1) = '1' then
                xs := sn_r;
                m  := unsigned(-q_r(l));
              else
                xs := s_r;
                m  := unsigned(q_r(l));
              end if;
              t0 := (others => '0'); t1 := (others => '0');
              t2 := (others => '0'); t3 := (others => '0');
              if m(0) = '1' then t0 := resize(xs, PW); end if;
              if m(1) = '1' then t1 := shift_left(resize(xs, PW), 1); end if;
              if m(2) = '1' then t2 := shift_left(resize(xs, PW), 2); end if;
              if m(3) = '1' then t3 := shift_left(resize(xs, PW), 3); end if;
              pa(l) <= t0 + t1;
              pb(l) <= t2 + t3;
              pd(1)(l) <= (others => '0');   -- not used by Q4 (assigned: no GHDL warning)
            else
              pd(1)(l) <= resize(s_r(31 downto 0) * q_r(l), PW);
            end if;
          end loop;
          pd(2 to C_MUL_PIPE) <= pd(1 to C_MUL_PIPE - 1);
          -- last stage: rounding shift
          for l in 0 to V - 1 loop
            if G_BITS = 4 then
              p := shift_right(pa(l) + pb(l) + to_signed(2 ** QF / 2, PW), QF);
            else
              p := shift_right(pd(C_MUL_PIPE)(l) + to_signed(2 ** QF / 2, PW), QF);
            end if;
            delta(l * DLW + DLW - 1 downto l * DLW) <= std_logic_vector(resize(p, DLW));
          end loop;
        end if;
      end process;
    end block;
  end generate;

end architecture rtl;
