---------------------------------------------------------------------------------------------------
-- ZipML-PYNQ SGD engine: configuration check (docs/ENGINE.md 7.4)
---------------------------------------------------------------------------------------------------
-- Description
--   Evaluates the parameter registers continuously, two register stages deep, so that the
--   result is ready in the cycle of a START pulse (the register file needs at least three
--   cycles between a parameter write and the START pulse of the next write). Outputs the
--   configuration error code with the precedence of section 7.4 (lowest code first) and the
--   derived sizes the core latches at START:
--     D = ceil(d / V), W = D or 2D (double sampling) + 1, S_d = max(DELAY, 1 + ceil(128 / W)),
--     the lane mask of the last data word (lanes j < d), and the FIFO check
--     (S_d + 1) * D + FIFO_SLACK <= FIFO_WORDS.
--
-- Generics
--   G_BITS, G_MAX_DIM, G_FIFO_WORDS : engine sizes.  G_DW : bits of D and W.
---------------------------------------------------------------------------------------------------

library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

library work;
use work.zipml_spec_pkg.all;
use work.zipml_core_pkg.all;

entity zipml_cfg_check is
  generic (
    G_BITS       : natural;
    G_MAX_DIM    : natural;
    G_FIFO_WORDS : natural;
    G_DW         : natural
  );
  port (
    clk                : in  std_logic;
    reg_mode           : in  std_logic_vector(31 downto 0);
    reg_num_samples    : in  std_logic_vector(31 downto 0);
    reg_num_features   : in  std_logic_vector(31 downto 0);
    reg_num_epochs     : in  std_logic_vector(31 downto 0);
    reg_step_size      : in  std_logic_vector(31 downto 0);
    reg_step_decay     : in  std_logic_vector(31 downto 0);
    reg_cost_pos       : in  std_logic_vector(31 downto 0);
    reg_cost_neg       : in  std_logic_vector(31 downto 0);
    reg_reg_shift      : in  std_logic_vector(31 downto 0);
    reg_binarize_value : in  std_logic_vector(31 downto 0);
    reg_delay          : in  std_logic_vector(31 downto 0);
    err_code           : out unsigned(7 downto 0);               -- 0 = valid
    dw_out             : out unsigned(G_DW - 1 downto 0);        -- D
    ww_out             : out unsigned(G_DW - 1 downto 0);        -- W
    sd_out             : out unsigned(31 downto 0);              -- S_d
    last_mask          : out std_logic_vector(lanes(G_BITS) - 1 downto 0)
  );
end entity zipml_cfg_check;

architecture rtl of zipml_cfg_check is
  constant V   : natural := lanes(G_BITS);
  constant LV  : natural := ilog2(V);

  type t_rom is array (0 to C_LATENCY_BUDGET) of natural;
  function make_rom return t_rom is
    variable r : t_rom;
  begin
    r(0) := 0;
    for w in 1 to C_LATENCY_BUDGET loop
      r(w) := min_staleness(w);
    end loop;
    return r;
  end function;
  constant C_SMIN : t_rom := make_rom;

  function nonfinite(f : std_logic_vector(31 downto 0)) return boolean is
  begin
    return f(30 downto 23) = x"FF";
  end function;

  -- stage 1
  signal e_mode, e_nsmp, e_dim, e_ep, e_flt, e_del0, e_rs : std_logic := '0';
  signal delay_big : std_logic := '0';
  signal delay1    : unsigned(31 downto 0) := (others => '0');
  signal dw1, ww1  : unsigned(G_DW - 1 downto 0) := to_unsigned(1, G_DW);
  signal mask1     : std_logic_vector(V - 1 downto 0) := (others => '1');
begin

  process (clk)
    variable d     : unsigned(31 downto 0);
    variable dw    : unsigned(G_DW - 1 downto 0);
    variable ds    : std_logic;
    variable smin  : natural;
    variable sd    : unsigned(31 downto 0);
    variable need  : unsigned(2 * G_DW + 8 downto 0);
    variable ebad  : std_logic;
    variable code  : natural;
    variable rem_l : natural;
  begin
    if rising_edge(clk) then
      ---------------------------------------------------------------- stage 1
      ds := reg_mode(C_MODE_DOUBLE_SAMPLING_LSB);
      e_mode <= '0';
      if unsigned(reg_mode(C_MODE_LOSS_LSB + C_MODE_LOSS_WIDTH - 1 downto C_MODE_LOSS_LSB)) > 2
         or (ds = '1' and G_BITS = 0) then
        e_mode <= '1';
      end if;
      e_nsmp <= '1' when unsigned(reg_num_samples) = 0 else '0';
      d := unsigned(reg_num_features);
      if d = 0 or d > G_MAX_DIM then
        e_dim <= '1';
        d := to_unsigned(1, 32);
      else
        e_dim <= '0';
      end if;
      e_ep <= '1' when unsigned(reg_num_epochs) = 0 else '0';
      e_flt <= '1' when nonfinite(reg_step_size) or nonfinite(reg_step_decay)
                        or nonfinite(reg_cost_pos) or nonfinite(reg_cost_neg)
                        or nonfinite(reg_binarize_value) else '0';
      e_del0 <= '1' when unsigned(reg_delay) = 0 else '0';
      e_rs <= '1' when unsigned(reg_reg_shift) > 31 else '0';
      delay_big <= '1' when unsigned(reg_delay) >= G_FIFO_WORDS else '0';
      delay1 <= unsigned(reg_delay);
      dw := resize(shift_right(d + (V - 1), LV), G_DW);
      dw1 <= dw;
      if ds = '1' and G_BITS /= 0 then
        ww1 <= dw + dw + 1;
      else
        ww1 <= dw + 1;
      end if;
      rem_l := to_integer((d - 1) mod V);
      for l in 0 to V - 1 loop
        mask1(l) <= '1' when l <= rem_l else '0';
      end loop;

      ---------------------------------------------------------------- stage 2
      -- both sides 32 bits wide: ghdl synth 2.0 truncated the constant to the width of ww1
      if resize(ww1, 32) > to_unsigned(C_LATENCY_BUDGET, 32) then
        smin := 2;
      else
        smin := C_SMIN(to_integer(ww1));
      end if;
      if delay1 > smin then
        sd := delay1;
      else
        sd := to_unsigned(smin, 32);
      end if;
      need := resize((resize(sd(G_DW + 7 downto 0), G_DW + 9) + 1) * dw1, need'length)
              + C_FIFO_SLACK;
      if delay_big = '1' or need > G_FIFO_WORDS then
        ebad := '1';
      else
        ebad := '0';
      end if;
      if e_mode = '1' then
        code := C_ERR_BAD_MODE;
      elsif e_nsmp = '1' then
        code := C_ERR_ZERO_SAMPLES;
      elsif e_dim = '1' then
        code := C_ERR_BAD_DIM;
      elsif e_ep = '1' then
        code := C_ERR_ZERO_EPOCHS;
      elsif e_flt = '1' then
        code := C_ERR_BAD_FLOAT_PARAM;
      elsif e_del0 = '1' or ebad = '1' then
        code := C_ERR_BAD_DELAY;
      elsif e_rs = '1' then
        code := C_ERR_BAD_REG_SHIFT;
      else
        code := C_ERR_NONE;
      end if;
      err_code  <= to_unsigned(code, 8);
      dw_out    <= dw1;
      ww_out    <= ww1;
      sd_out    <= sd;
      last_mask <= mask1;
    end if;
  end process;

end architecture rtl;
