---------------------------------------------------------------------------------------------------
-- ZipML-PYNQ SGD engine: model memory with in-place update and forwarding
---------------------------------------------------------------------------------------------------
-- Description
--   The model x (Q8.23) banked by lane: V simple dual-port RAMs of G_WORDS words each; model
--   word c holds x_{cV} .. x_{cV+V-1}. One wide read per op serves both the dot product (the
--   value before the update, x_out) and the update of docs/ENGINE.md 5.4, which is written back
--   to the same word:
--     r_j = x_j >>> reg_shift (0 if reg_shift = 0);  x_j <- sat32(x_j - r_j - delta_j)
--   Lanes whose mask bit is 0 (j >= d) are written back unchanged. The arithmetic is exact in
--   G_DELTA_W + 2 bits (|x - r| < 2^31, delta has G_DELTA_W bits), then saturated.
--   LUT economy (64 lanes at Q1, measured with Yosys): the shift is split, stage 3 shifts by
--   reg_shift(3 downto 0) (one 2:1 select per bit) into a register, stage 4 applies the shift
--   by 16 and the zero for reg_shift = 0 at the input of the subtraction; the forwarding
--   selects are registered one stage early (plain flip-flops, not compares, in front of every
--   lane's multiplexer); no lane has a multiplexer for the clear's zero word (see clr_we).
--
--   Pipeline (stage numbers relative to the op's address stage, called 2 here; the core uses
--   C_STAGE_MREAD): an op presents its address in stage 2, the RAM word arrives in stage 3,
--   the delta must be presented in stage 3; x_out is registered into stage 4; the new word is
--   registered into stage 5 and written from there. An op reading a
--   word that an earlier op still has in flight (stage 5, not yet written; or stage 6, written
--   in the previous cycle and therefore missed by the read) takes the newest in-flight value
--   instead of the RAM's (forwarding). The loop x -> x' closes in two cycles, so two ops on the
--   same word must be at least two cycles apart (the core guarantees it: W >= 2 words per
--   sample, and the end-of-epoch drain spaces its ops).
--
--   clr_we writes a zero word at clr_addr (START without KEEP_MODEL; no op in flight then, so
--   the stage-5 register, which is the write data, holds zeros).
--
--   Output snapshot: a second bank set of the same shape. Every write-back of an op flagged
--   op_snap (the end-of-epoch drain) is also written there, so after the drain it holds the
--   model of the epoch; the model output reads it (snap_rd_addr / snap_rd_data, one cycle)
--   while the next epoch already updates the model memory. The core starts a drain only when
--   the previous output has finished reading the snapshot.
--
-- Generics
--   G_LANES : V.  G_WORDS : words per lane bank.  G_AW : address bits.
--   G_DELTA_W : width of one lane's signed delta (delta_width(G_BITS)).
---------------------------------------------------------------------------------------------------

library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

library work;
use work.zipml_core_pkg.all;

entity zipml_model_mem is
  generic (
    G_LANES : positive;
    G_WORDS : positive;
    G_AW    : positive;
    G_DELTA_W : positive
  );
  port (
    clk       : in  std_logic;
    rst       : in  std_logic;                                 -- clears the op valid bits
    -- op, stage 2
    op_valid  : in  std_logic;                                 -- op reads the model word
    op_upd    : in  std_logic;                                 -- op also updates it
    op_addr   : in  unsigned(G_AW - 1 downto 0);
    op_mask   : in  std_logic_vector(G_LANES - 1 downto 0);    -- lanes j < d
    op_snap   : in  std_logic;                                 -- write-back also to snapshot
    -- stage 3
    delta     : in  std_logic_vector(G_LANES * G_DELTA_W - 1 downto 0);
    -- run constants
    reg_shift : in  unsigned(4 downto 0);
    wr_block  : in  std_logic;                                 -- '1': no write-back (error)
    -- stage 4: model word before the update
    x_out     : out std_logic_vector(G_LANES * 32 - 1 downto 0);
    -- stage 5: an update of an unmasked lane saturated
    sat       : out std_logic;
    -- clear and read ports (idle pipeline only)
    clr_we    : in  std_logic;
    clr_addr  : in  unsigned(G_AW - 1 downto 0);
    snap_rd_addr : in  unsigned(G_AW - 1 downto 0);
    snap_rd_data : out std_logic_vector(G_LANES * 32 - 1 downto 0)  -- 1 cycle later
  );
end entity zipml_model_mem;

architecture rtl of zipml_model_mem is
  constant V : natural := G_LANES;
  constant UW : natural := G_DELTA_W + 2;                   -- update arithmetic width
  subtype t_word is std_logic_vector(V * 32 - 1 downto 0);
  type t_upd is array (0 to V - 1) of signed(UW - 1 downto 0);
  type t_x is array (0 to V - 1) of signed(31 downto 0);

  signal ram_raddr, ram_waddr : unsigned(G_AW - 1 downto 0);
  signal ram_we, snap_we      : std_logic;
  signal s3, s4, s5           : std_logic := '0';
  signal ram_wdata, ram_rdata : t_word;

  -- stage 3
  signal v3, u3 : std_logic := '0';
  signal a3     : unsigned(G_AW - 1 downto 0) := (others => '0');
  signal m3     : std_logic_vector(V - 1 downto 0) := (others => '0');
  -- stage 4
  signal v4, u4 : std_logic := '0';
  signal a4     : unsigned(G_AW - 1 downto 0) := (others => '0');
  signal m4     : std_logic_vector(V - 1 downto 0) := (others => '0');
  signal x4     : t_word := (others => '0');
  signal tmp4   : t_upd := (others => (others => '0'));
  signal rsh4   : t_x := (others => (others => '0'));
  -- stage 5
  signal w5     : std_logic := '0';
  signal a5     : unsigned(G_AW - 1 downto 0) := (others => '0');
  signal x5     : t_word := (others => '0');
  signal sat5   : std_logic := '0';
  -- stage 6
  signal w6     : std_logic := '0';
  signal a6     : unsigned(G_AW - 1 downto 0) := (others => '0');
  signal x6     : t_word := (others => '0');

  signal xin3   : t_word;
  signal fwd5, fwd6 : std_logic := '0';                    -- stage 3: take x5 / x6
  signal nzm    : signed(31 downto 0);                      -- all ones unless reg_shift = 0
  constant C_ZEROS : std_logic_vector(UW - 32 downto 0) := (others => '0');
  constant C_ONES  : std_logic_vector(UW - 32 downto 0) := (others => '1');
begin

  -------------------------------------------------------------------------------------------------
  -- RAM banks
  -------------------------------------------------------------------------------------------------
  ram_raddr <= op_addr;
  ram_we    <= '1' when clr_we = '1' or w5 = '1' else '0';
  ram_waddr <= clr_addr when clr_we = '1' else a5;
  ram_wdata <= x5;                  -- x5 is zero when stage 4 held no update (see below)

  g_bank : for l in 0 to V - 1 generate
    u_ram : entity work.zipml_sdp_ram
      generic map (G_WIDTH => 32, G_DEPTH => G_WORDS, G_AW => G_AW)
      port map (clk => clk, we => ram_we, wr_addr => ram_waddr,
                wr_data => ram_wdata(32 * l + 31 downto 32 * l), rd_addr => ram_raddr,
                rd_data => ram_rdata(32 * l + 31 downto 32 * l));
  end generate;
  snap_we <= w5 and s5;

  g_snap : for l in 0 to V - 1 generate
    u_snap : entity work.zipml_sdp_ram
      generic map (G_WIDTH => 32, G_DEPTH => G_WORDS, G_AW => G_AW)
      port map (clk => clk, we => snap_we, wr_addr => a5,
                wr_data => x5(32 * l + 31 downto 32 * l), rd_addr => snap_rd_addr,
                rd_data => snap_rd_data(32 * l + 31 downto 32 * l));
  end generate;

  -------------------------------------------------------------------------------------------------
  -- stage 3: forwarding mux
  -------------------------------------------------------------------------------------------------
  xin3 <= x5 when fwd5 = '1' else
          x6 when fwd6 = '1' else
          ram_rdata;

  nzm <= (others => '0') when reg_shift = "00000" else (others => '1');

  process (clk)
    variable x  : signed(31 downto 0);
    variable s1 : signed(31 downto 0);
    variable r  : signed(31 downto 0);
    variable dl : signed(G_DELTA_W - 1 downto 0);
    variable t  : signed(UW - 1 downto 0);
    variable s  : std_logic;
    variable hi : std_logic_vector(UW - 32 downto 0);
  begin
    if rising_edge(clk) then
      -- stage 2 -> 3
      a3 <= op_addr;
      -- forwarding selects (the compares of w5 and a5 = a3, w6 and a6 = a3 one stage early)
      fwd5 <= '0';
      if v4 = '1' and u4 = '1' and wr_block = '0' and a4 = op_addr then
        fwd5 <= '1';
      end if;
      fwd6 <= '0';
      if w5 = '1' and a5 = op_addr then
        fwd6 <= '1';
      end if;
      m3 <= op_mask;
      s3 <= op_snap;
      s4 <= s3;
      s5 <= s4;
      -- stage 3 -> 4
      a4 <= a3;
      m4 <= m3;
      x4 <= xin3;
      for l in 0 to V - 1 loop
        x  := signed(xin3(32 * l + 31 downto 32 * l));
        dl := signed(delta(l * G_DELTA_W + G_DELTA_W - 1 downto l * G_DELTA_W));
        tmp4(l) <= resize(x, UW) - resize(dl, UW);
        -- x >>> reg_shift(3 downto 0): 2:1 selects, one per shift bit
        s1 := x;
        for k in 0 to 3 loop
          if reg_shift(k) = '1' then
            s1 := shift_right(s1, 2 ** k);
          end if;
        end loop;
        rsh4(l) <= s1;
      end loop;
      -- stage 4 -> 5
      a5 <= a4;
      s  := '0';
      for l in 0 to V - 1 loop
        -- r = x >>> reg_shift (0 for reg_shift = 0): the shift by 16 and the zero
        if reg_shift(4) = '1' then
          r := shift_right(rsh4(l), 16);
        else
          r := rsh4(l);
        end if;
        r := r and nzm;
        t := tmp4(l) - resize(r, UW);
        hi := std_logic_vector(t(UW - 1 downto 31));
        if u4 = '1' and m4(l) = '1' then
          if hi = C_ZEROS or hi = C_ONES then                 -- fits 32 bits
            x5(32 * l + 31 downto 32 * l) <= std_logic_vector(t(31 downto 0));
          elsif t(UW - 1) = '0' then
            x5(32 * l + 31 downto 32 * l) <= x"7FFFFFFF";
            s := '1';
          else
            x5(32 * l + 31 downto 32 * l) <= x"80000000";
            s := '1';
          end if;
        else
          x5(32 * l + 31 downto 32 * l) <= x4(32 * l + 31 downto 32 * l);
        end if;
        -- no update in stage 4: x5 is not written, but zero, so that clr_we (no op in flight)
        -- writes x5 without a multiplexer in every lane's write data
        if v4 = '0' or u4 = '0' then
          x5(32 * l + 31 downto 32 * l) <= (others => '0');
        end if;
      end loop;
      sat5 <= s and v4 and u4;
      -- stage 5 -> 6
      a6 <= a5;
      x6 <= x5;
      -- valid bits
      if rst = '1' then
        v3 <= '0'; u3 <= '0'; v4 <= '0'; u4 <= '0'; w5 <= '0'; w6 <= '0'; sat5 <= '0';
        fwd5 <= '0'; fwd6 <= '0';
      else
        v3 <= op_valid;
        u3 <= op_valid and op_upd;
        v4 <= v3;
        u4 <= u3;
        w5 <= v4 and u4 and not wr_block;
        w6 <= w5;
      end if;
    end if;
  end process;

  x_out <= x4;
  sat   <= sat5;

end architecture rtl;
