---------------------------------------------------------------------------------------------------
-- ZipML-PYNQ SGD engine: core package
---------------------------------------------------------------------------------------------------
-- Description
--   Sizes and helper functions of the engine core that depend on the precision G_BITS
--   (docs/ENGINE.md sections 3 and 6). Every spec constant comes from the generated package
--   zipml_spec_pkg; this package only derives sizes from them.
--
--   Pipeline stage numbering used by the core (stage 0 = the cycle a word is accepted):
--     0  word accepted; FIFO / scalar-queue read addresses presented
--     1  FIFO word and scalar S available; delta multiplication starts
--     2  decoded sample values q (copy A) ready, pushed into the FIFO
--     R  = C_STAGE_MREAD = 2 + C_MUL_PIPE: model read address presented
--     R+1  model word from memory; forwarding mux; delta ready
--     R+2  X (model before this op's update) registered -> dot product
--     R+3  updated model word registered and written
--     R+4  the word written in the previous cycle (second forwarding source)
--   (zipml_model_mem numbers its stages 2..6 for R = 2.)
---------------------------------------------------------------------------------------------------

library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

library work;
use work.zipml_spec_pkg.all;

package zipml_core_pkg is

  -- Width of the per-word dot-product sum and of the per-sample accumulator.
  constant C_SUM_W    : natural := 48;
  constant C_ACC_W    : natural := 64;
  -- Extra register stages after every integer multiplier of the datapath (delta, dot
  -- product), so that the tools can use the DSP48 pipeline registers (32x32 products for Q0).
  constant C_MUL_PIPE : natural := 1;
  -- Stage in which an op presents its model address (see the stage list above).
  constant C_STAGE_MREAD : natural := 2 + C_MUL_PIPE;
  -- Fractional bits the fix2flt unit expects on its 64-bit input (helper units' contract).
  constant C_FIX2FLT_FRAC : natural := 30;

  -- Values per 64-bit word V (section 3.1).
  function lanes(bits : natural) return natural;
  -- Raw bits of one lane in the stream word.
  function lane_bits(bits : natural) return natural;
  -- Width of the signed integer q of one lane.
  function q_width(bits : natural) return natural;
  -- QF, fractional bits of q (section 3.2).
  function q_frac(bits : natural) return natural;
  -- Fractional bits F of the dot-product accumulator: fix2flt(acc, F) (section 5.2).
  function dot_frac(bits : natural) return natural;
  -- Width of the signed lane delta of docs/ENGINE.md 5.4: the product S * q (32 + q_width
  -- bits) shifted right by q_frac. Qb: |delta| <= 2^31 (+ rounding) in 34 bits; Q0:
  -- |delta| <= 2^39 in 41 bits.
  function delta_width(bits : natural) return natural;
  -- L = 2^(b-1) (Qb only; 0 for Q0).
  function q_levels(bits : natural) return natural;
  -- ceil(log2(n)), at least 1.
  function clog2(n : natural) return natural;
  -- log2 of a power of two (0 for 1).
  function ilog2(n : natural) return natural;
  -- Model words per lane bank: ceil(max_dim / V).
  function model_words(bits, max_dim : natural) return natural;
  -- Smallest power of two that makes DELAY = 1 valid for every d <= max_dim, i.e. the same
  -- value as zipml.spec.default_fifo_words(bits, max_dim).
  function default_fifo_words(bits, max_dim : natural) return natural;
  -- 1 + ceil(LATENCY_BUDGET / w), the minimum staleness for w words per sample.
  function min_staleness(w : natural) return natural;

  -- x * q for a small signed q (Q1/Q2/Q4 lanes) as shift-and-add: the sum of x shifted by each
  -- set bit of |q|, negated for q < 0; the exact product in x'length + q'length bits, written
  -- without "*" so that synthesis builds it from LUT carry chains instead of DSP blocks.
  function mul_small(x : signed; q : signed) return signed;
end package zipml_core_pkg;

package body zipml_core_pkg is

  function lanes(bits : natural) return natural is
  begin
    if bits = 0 then
      return 2;
    end if;
    return C_IN_WIDTH / bits;
  end function;

  function lane_bits(bits : natural) return natural is
  begin
    if bits = 0 then
      return 32;
    end if;
    return bits;
  end function;

  function q_width(bits : natural) return natural is
  begin
    if bits = 0 then
      return 32;
    end if;
    return bits + 1;
  end function;

  function q_frac(bits : natural) return natural is
  begin
    if bits = 0 then
      return C_MODEL_FRAC_BITS;
    end if;
    return bits - 1;
  end function;

  function dot_frac(bits : natural) return natural is
  begin
    if bits = 0 then
      return C_MODEL_FRAC_BITS;
    end if;
    return C_MODEL_FRAC_BITS + bits - 1;
  end function;

  function delta_width(bits : natural) return natural is
  begin
    return 32 + q_width(bits) - q_frac(bits);
  end function;

  function q_levels(bits : natural) return natural is
  begin
    if bits = 0 then
      return 0;
    end if;
    return 2 ** (bits - 1);
  end function;

  function clog2(n : natural) return natural is
    variable r : natural := 1;
  begin
    while 2 ** r < n loop
      r := r + 1;
    end loop;
    return r;
  end function;

  function ilog2(n : natural) return natural is
    variable r : natural := 0;
  begin
    while 2 ** r < n loop
      r := r + 1;
    end loop;
    return r;
  end function;

  function model_words(bits, max_dim : natural) return natural is
  begin
    return (max_dim + lanes(bits) - 1) / lanes(bits);
  end function;

  function min_staleness(w : natural) return natural is
  begin
    return 1 + (C_LATENCY_BUDGET + w - 1) / w;
  end function;

  function default_fifo_words(bits, max_dim : natural) return natural is
    variable need, w, n : natural;
    variable dmax : natural;
  begin
    -- fifo_words_needed depends on d only through D = ceil(d / V); every D in 1..ceil(max_dim/V)
    -- occurs, with and (Qb only) without double sampling.
    dmax := model_words(bits, max_dim);
    need := 0;
    for dw in 1 to dmax loop
      for ds in 0 to 1 loop
        if ds = 0 or bits /= 0 then
          w := dw * (1 + ds) + 1;
          n := (min_staleness(w) + 1) * dw + C_FIFO_SLACK;
          if n > need then
            need := n;
          end if;
        end if;
      end loop;
    end loop;
    n := 1;
    while n < need loop
      n := 2 * n;
    end loop;
    return n;
  end function;

  function mul_small(x : signed; q : signed) return signed is
    constant PW : natural := x'length + q'length;
    variable m  : unsigned(q'length - 1 downto 0);
    variable xs : signed(PW - 1 downto 0);
    variable r  : signed(PW - 1 downto 0);
  begin
    if q(q'left) = '1' then
      m := unsigned(-q);                 -- |q| (also right for q = -2^(QW-1): unsigned)
    else
      m := unsigned(q);
    end if;
    xs := resize(x, PW);
    r := (others => '0');
    for i in 0 to q'length - 1 loop
      if m(i) = '1' then
        r := r + shift_left(xs, i);
      end if;
    end loop;
    if q(q'left) = '1' then
      r := -r;
    end if;
    return r;
  end function;

end package body zipml_core_pkg;
