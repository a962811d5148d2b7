---------------------------------------------------------------------------------------------------
-- ZipML-PYNQ SGD engine: dot product (lane products, pipelined adder tree, accumulator)
---------------------------------------------------------------------------------------------------
-- Description
--   Per op (one model word of V lanes): p_j = x_j * q_j (Qb, exact) or
--   p_j = (x_j * q_j + 2^22) >>> 23 (Q0, round half up), docs/ENGINE.md 5.2. The V products
--   of a word are summed by a binary adder tree with a register after every level; the word
--   sums of the ops flagged 'dot' are accumulated (64 bits) and an op flagged 'last' (the label
--   word of the sample) emits the accumulator on acc_out / acc_valid and clears it. Lanes j >= d
--   must come with q = 0 (the lane decoder does that). Order of summation is irrelevant: every
--   sum is exact (|acc| < 2^52).
--   Latency from (in_dot/in_last, x, q) to acc_valid: log2(V) + 3 + C_MUL_PIPE.
--
--   Q1/Q2/Q4 (products from LUTs): the adder tree follows the registered products directly,
--   each level only as wide as its sums can get (32 + q_width + level bits), and the
--   C_MUL_PIPE + 1 registers of the other precisions come after the tree on the one word sum.
--   A lane with q < 0 registers not(|q| * x) and the number of such lanes is added after the
--   tree (-p = not(p) + 1), so that no lane needs a negation (Q1: x, not(x) or 0).
--
-- Generics
--   G_BITS : precision.
---------------------------------------------------------------------------------------------------

library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

library work;
use work.zipml_core_pkg.all;

entity zipml_dot_product is
  generic (
    G_BITS : natural
  );
  port (
    clk       : in  std_logic;
    rst       : in  std_logic;                       -- clears valid bits and the accumulator
    in_dot    : in  std_logic;                       -- op contributes to the dot product
    in_last   : in  std_logic;                       -- op ends the sample (label word)
    x         : in  std_logic_vector(lanes(G_BITS) * 32 - 1 downto 0);
    q         : in  std_logic_vector(lanes(G_BITS) * q_width(G_BITS) - 1 downto 0);
    acc_valid : out std_logic;
    acc_out   : out std_logic_vector(C_ACC_W - 1 downto 0)
  );
end entity zipml_dot_product;

architecture rtl of zipml_dot_product is
  constant V      : natural := lanes(G_BITS);
  constant QW     : natural := q_width(G_BITS);
  constant LEVELS : natural := ilog2(V);
  constant PW     : natural := 32 + QW;
  constant C_LUTP : boolean := G_BITS = 1 or G_BITS = 2 or G_BITS = 4;

  type t_prod is array (0 to V - 1) of signed(PW - 1 downto 0);
  type t_sum is array (0 to V - 1) of signed(C_SUM_W - 1 downto 0);
  type t_tree is array (0 to LEVELS) of t_sum;

  -- flags: bit 0 dot, bit 1 last
  constant FL : natural := LEVELS + 2 + C_MUL_PIPE;          -- flag pipeline length
  type t_flags is array (1 to FL) of std_logic_vector(1 downto 0);
  signal flags  : t_flags := (others => (others => '0'));
  signal acc    : signed(C_ACC_W - 1 downto 0) := (others => '0');
  signal wsum   : signed(C_SUM_W - 1 downto 0);            -- word sum, flag stage FL
begin

  -------------------------------------------------------------------------------------------------
  -- Q0/Q8: products (DSP), C_MUL_PIPE registers, rounding, adder tree
  -------------------------------------------------------------------------------------------------
  g_dsp : if not C_LUTP generate
    type t_pipe is array (0 to C_MUL_PIPE) of t_prod;
    signal prod_r : t_pipe := (others => (others => (others => '0')));
    signal tree   : t_tree := (others => (others => (others => '0')));
  begin
    process (clk)
      variable pr : signed(PW - 1 downto 0);
    begin
      if rising_edge(clk) then
        -- stage a: products
        for l in 0 to V - 1 loop
          prod_r(0)(l) <= signed(x(32 * l + 31 downto 32 * l))
                          * signed(q(l * QW + QW - 1 downto l * QW));
        end loop;
        prod_r(1 to C_MUL_PIPE) <= prod_r(0 to C_MUL_PIPE - 1);
        -- stage b: rounding (Q0) and widening
        for l in 0 to V - 1 loop
          if G_BITS = 0 then
            pr := shift_right(prod_r(C_MUL_PIPE)(l) + to_signed(2 ** 22, PW), 23);
          else
            pr := prod_r(C_MUL_PIPE)(l);
          end if;
          tree(0)(l) <= resize(pr, C_SUM_W);
        end loop;
        -- adder tree, one register per level
        for lv in 1 to LEVELS loop
          for i in 0 to V - 1 loop
            if i < V / 2 ** lv then
              tree(lv)(i) <= tree(lv - 1)(2 * i) + tree(lv - 1)(2 * i + 1);
            else
              tree(lv)(i) <= (others => '0');          -- unused slot of this level
            end if;
          end loop;
        end loop;
      end if;
    end process;
    wsum <= tree(LEVELS)(0);
  end generate;

  -------------------------------------------------------------------------------------------------
  -- Q1/Q2/Q4: LUT products, narrow adder tree, C_MUL_PIPE + 1 registers on the word sum
  -------------------------------------------------------------------------------------------------
  g_lut : if C_LUTP generate
    type t_cnt is array (0 to V - 1) of unsigned(LEVELS downto 0);
    type t_ctree is array (0 to LEVELS) of t_cnt;
    type t_post is array (1 to C_MUL_PIPE + 1) of signed(C_SUM_W - 1 downto 0);
    signal tree : t_tree := (others => (others => (others => '0')));
    signal neg  : t_ctree := (others => (others => (others => '0')));  -- lanes with q < 0
    signal post : t_post := (others => (others => '0'));
  begin
    process (clk)
      variable ql, qa : signed(QW - 1 downto 0);
      variable pa, xl : signed(PW - 1 downto 0);
    begin
      if rising_edge(clk) then
        -- stage a: products |q| * x, inverted for q < 0 (the +1 is counted in neg)
        for l in 0 to V - 1 loop
          ql := signed(q(l * QW + QW - 1 downto l * QW));
          if ql(QW - 1) = '1' then
            qa := -ql;                       -- |q| < 2^(QW-1): no overflow (section 3.2)
          else
            qa := ql;
          end if;
          -- pa = |q| * x: shift-and-add over the magnitude bits 0 .. QW-2 (|q| <= 2^(QW-2))
          xl := resize(signed(x(32 * l + 31 downto 32 * l)), PW);
          if qa(0) = '1' then
            pa := xl;
          else
            pa := (others => '0');
          end if;
          for b in 1 to QW - 2 loop
            if qa(b) = '1' then
              pa := pa + shift_left(xl, b);
            end if;
          end loop;
          if ql(QW - 1) = '1' then
            tree(0)(l) <= resize(not pa, C_SUM_W);
            neg(0)(l) <= to_unsigned(1, LEVELS + 1);
          else
            tree(0)(l) <= resize(pa, C_SUM_W);
            neg(0)(l) <= (others => '0');
          end if;
        end loop;
        -- adder tree, one register per level; level lv sums fit PW + lv bits
        for lv in 1 to LEVELS loop
          for i in 0 to V - 1 loop
            if i < V / 2 ** lv then
              tree(lv)(i) <= resize(resize(tree(lv - 1)(2 * i), PW + lv)
                                    + resize(tree(lv - 1)(2 * i + 1), PW + lv), C_SUM_W);
              neg(lv)(i) <= neg(lv - 1)(2 * i) + neg(lv - 1)(2 * i + 1);
            else
              tree(lv)(i) <= (others => '0');          -- unused slot of this level
              neg(lv)(i) <= (others => '0');
            end if;
          end loop;
        end loop;
        -- word sum (+ the number of lanes with q < 0), then C_MUL_PIPE more registers
        post(1) <= tree(LEVELS)(0) + signed(resize(neg(LEVELS)(0), C_SUM_W));
        post(2 to C_MUL_PIPE + 1) <= post(1 to C_MUL_PIPE);
      end if;
    end process;
    wsum <= post(C_MUL_PIPE + 1);
  end generate;

  -------------------------------------------------------------------------------------------------
  -- flags and accumulator
  -------------------------------------------------------------------------------------------------
  process (clk)
  begin
    if rising_edge(clk) then
      if rst = '1' then
        flags <= (others => (others => '0'));
      else
        flags(1) <= in_last & in_dot;
        flags(2 to FL) <= flags(1 to FL - 1);
      end if;
      acc_valid <= '0';
      if rst = '1' then
        acc <= (others => '0');
      elsif flags(FL)(1) = '1' then
        acc_valid <= '1';
        if flags(FL)(0) = '1' then
          acc_out <= std_logic_vector(acc + resize(wsum, C_ACC_W));
        else
          acc_out <= std_logic_vector(acc);
        end if;
        acc <= (others => '0');
      elsif flags(FL)(0) = '1' then
        acc <= acc + resize(wsum, C_ACC_W);
      end if;
    end if;
  end process;

end architecture rtl;
