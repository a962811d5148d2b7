---------------------------------------------------------------------------------------------------
-- ZipML-PYNQ SGD engine: AXI4-Lite register file
---------------------------------------------------------------------------------------------------
-- Description
--   The control/status registers of the engine (docs/ENGINE.md section 7). Offsets, bit-field
--   positions, constant values and reset values all come from the generated package
--   zipml_spec_pkg (zipml/spec.py); nothing is numbered by hand here.
--
--   Register behaviour
--   - ID, VERSION: constants C_ID_VALUE, C_VERSION_VALUE.
--   - CONFIG: BITS field = G_BITS, FP_XILINX bit = G_FP_XILINX. MAX_DIM = G_MAX_DIM,
--     FIFO_WORDS = G_FIFO_WORDS. All read-only.
--   - CTRL (write-only, reads 0): writing a 1 to START / SOFT_RESET / ABORT gives a one-cycle
--     pulse on ctrl_start / ctrl_soft_reset / ctrl_abort. A bit acts only if the byte lane that
--     holds it is strobed (wstrb). The pulse is high in the clock cycle in which BVALID rises.
--   - STATUS: BUSY, DONE, SAT and ERROR assembled from st_busy, st_done, st_sat, st_error.
--   - STALENESS, EPOCH_COUNT, SAMPLE_COUNT, ERROR_INFO: st_* inputs, sampled at the AR handshake.
--   - CYCLES_LO / WORDS_LO: bits 31..0 of st_cycles / st_words; the same read latches bits
--     63..32 into a holding register, which CYCLES_HI / WORDS_HI return. A LO-then-HI read pair
--     therefore gives one consistent 64-bit value. HI read without a preceding LO read returns
--     the value latched by the last LO read (0 after reset).
--   - RW parameter registers, with byte strobes honoured. Reset values (C_RESET_* of the
--     package, spec.RESET):
--       MODE 0, NUM_SAMPLES 0, NUM_FEATURES 0, NUM_EPOCHS 1, STEP_SIZE 0x3C23D70A (0.01f),
--       STEP_DECAY 0x3F800000 (1.0f), COST_POS 0x3F800000, COST_NEG 0x3F800000, REG_SHIFT 0,
--       BINARIZE_VALUE 0, DELAY 1, CHUNK_SAMPLES 0.
--   - Unmapped offsets read 0; writes to read-only or unmapped offsets are ignored.
--   - Every response is OKAY. AWPROT/ARPROT are ignored. The two low address bits are ignored
--     (every access is a whole 32-bit word).
--
--   AXI4-Lite protocol
--   - The write address and write data channels are captured independently (each has a
--     one-entry holding register), so AW and W may come in either order or together. The write
--     is performed in the cycle after both are held and no write response is pending; BVALID
--     rises in the cycle after that. One write and one read may be outstanding at a time.
--   - Read: ARREADY is high while no read response is pending; RDATA is registered at the AR
--     handshake and RVALID rises the cycle after.
--   - All outputs are driven from registers (no combinational path from an input to an output);
--     VALID and READY outputs are low during reset.
--   - Throughput: one read per 2 cycles, one write per 2 cycles (ample for a control port).
--
--   Reset: aresetn, synchronous, active low.
---------------------------------------------------------------------------------------------------

library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

library work;
use work.zipml_spec_pkg.all;

entity zipml_axil_regs is
  generic (
    G_BITS       : natural;   -- engine precision: 0 (float32) or 1, 2, 4, 8 (CONFIG.BITS)
    G_MAX_DIM    : natural;   -- largest NUM_FEATURES accepted (read-only MAX_DIM register)
    G_FIFO_WORDS : natural;   -- sample FIFO capacity in 64-bit words (read-only FIFO_WORDS)
    G_FP_XILINX  : boolean    -- scalar FP units are Xilinx IP (CONFIG.FP_XILINX)
  );
  port (
    -- Clock and synchronous active-low reset
    aclk               : in  std_logic;
    aresetn            : in  std_logic;
    -- AXI4-Lite slave: write address channel
    s_axi_awaddr       : in  std_logic_vector(7 downto 0);
    s_axi_awprot       : in  std_logic_vector(2 downto 0);   -- ignored
    s_axi_awvalid      : in  std_logic;
    s_axi_awready      : out std_logic;
    -- AXI4-Lite slave: write data channel
    s_axi_wdata        : in  std_logic_vector(31 downto 0);
    s_axi_wstrb        : in  std_logic_vector(3 downto 0);
    s_axi_wvalid       : in  std_logic;
    s_axi_wready       : out std_logic;
    -- AXI4-Lite slave: write response channel (always OKAY)
    s_axi_bresp        : out std_logic_vector(1 downto 0);
    s_axi_bvalid       : out std_logic;
    s_axi_bready       : in  std_logic;
    -- AXI4-Lite slave: read address channel
    s_axi_araddr       : in  std_logic_vector(7 downto 0);
    s_axi_arprot       : in  std_logic_vector(2 downto 0);   -- ignored
    s_axi_arvalid      : in  std_logic;
    s_axi_arready      : out std_logic;
    -- AXI4-Lite slave: read data channel (always OKAY)
    s_axi_rdata        : out std_logic_vector(31 downto 0);
    s_axi_rresp        : out std_logic_vector(1 downto 0);
    s_axi_rvalid       : out std_logic;
    s_axi_rready       : in  std_logic;
    -- Control pulses to the core (one cycle, on a CTRL write with the bit set)
    ctrl_start         : out std_logic;
    ctrl_soft_reset    : out std_logic;
    ctrl_abort         : out std_logic;
    -- Parameter registers (RW) to the core
    reg_mode           : out std_logic_vector(31 downto 0);
    reg_num_samples    : out std_logic_vector(31 downto 0);
    reg_num_features   : out std_logic_vector(31 downto 0);
    reg_num_epochs     : out std_logic_vector(31 downto 0);
    reg_step_size      : out std_logic_vector(31 downto 0);
    reg_step_decay     : out std_logic_vector(31 downto 0);
    reg_cost_pos       : out std_logic_vector(31 downto 0);
    reg_cost_neg       : out std_logic_vector(31 downto 0);
    reg_reg_shift      : out std_logic_vector(31 downto 0);
    reg_binarize_value : out std_logic_vector(31 downto 0);
    reg_delay          : out std_logic_vector(31 downto 0);
    reg_chunk_samples  : out std_logic_vector(31 downto 0);
    -- Status from the core (read-only registers)
    st_busy            : in  std_logic;                       -- STATUS.BUSY
    st_done            : in  std_logic;                       -- STATUS.DONE
    st_sat             : in  std_logic;                       -- STATUS.SAT
    st_error           : in  std_logic_vector(7 downto 0);    -- STATUS.ERROR
    st_staleness       : in  std_logic_vector(31 downto 0);   -- STALENESS
    st_epoch_count     : in  std_logic_vector(31 downto 0);   -- EPOCH_COUNT
    st_sample_count    : in  std_logic_vector(31 downto 0);   -- SAMPLE_COUNT
    st_error_info      : in  std_logic_vector(31 downto 0);   -- ERROR_INFO
    st_cycles          : in  std_logic_vector(63 downto 0);   -- CYCLES_HI & CYCLES_LO
    st_words           : in  std_logic_vector(63 downto 0)    -- WORDS_HI & WORDS_LO
  );
end entity zipml_axil_regs;

architecture rtl of zipml_axil_regs is

  -------------------------------------------------------------------------------------------------
  -- Helpers
  -------------------------------------------------------------------------------------------------
  subtype t_word is std_logic_vector(C_AXIL_DATA_WIDTH - 1 downto 0);
  subtype t_widx is unsigned(C_AXIL_ADDR_WIDTH - 3 downto 0);   -- word index = addr(7:2)

  -- The generated package declares constants above 2^31-1 as std_logic_vector and the others as
  -- natural; these overloads turn either kind into a register word.
  function to_word(v : natural) return t_word is
  begin
    return std_logic_vector(to_unsigned(v, C_AXIL_DATA_WIDTH));
  end function;

  function to_word(v : std_logic_vector) return t_word is
  begin
    return std_logic_vector(resize(unsigned(v), C_AXIL_DATA_WIDTH));
  end function;

  function widx(offset : natural) return t_widx is
  begin
    return to_unsigned(offset / 4, t_widx'length);
  end function;

  -- RW parameter registers: index -> offset, reset value
  constant C_NUM_RW : natural := 12;
  subtype t_rw_idx is natural range 0 to C_NUM_RW - 1;
  type t_nat_arr is array (t_rw_idx) of natural;
  type t_word_arr is array (t_rw_idx) of t_word;

  -- positions in the RW array
  constant I_MODE           : t_rw_idx := 0;
  constant I_NUM_SAMPLES    : t_rw_idx := 1;
  constant I_NUM_FEATURES   : t_rw_idx := 2;
  constant I_NUM_EPOCHS     : t_rw_idx := 3;
  constant I_STEP_SIZE      : t_rw_idx := 4;
  constant I_STEP_DECAY     : t_rw_idx := 5;
  constant I_COST_POS       : t_rw_idx := 6;
  constant I_COST_NEG       : t_rw_idx := 7;
  constant I_REG_SHIFT      : t_rw_idx := 8;
  constant I_BINARIZE_VALUE : t_rw_idx := 9;
  constant I_DELAY          : t_rw_idx := 10;
  constant I_CHUNK_SAMPLES  : t_rw_idx := 11;

  constant C_RW_OFFSET : t_nat_arr := (
    I_MODE => C_REG_MODE,
    I_NUM_SAMPLES => C_REG_NUM_SAMPLES,
    I_NUM_FEATURES => C_REG_NUM_FEATURES,
    I_NUM_EPOCHS => C_REG_NUM_EPOCHS,
    I_STEP_SIZE => C_REG_STEP_SIZE,
    I_STEP_DECAY => C_REG_STEP_DECAY,
    I_COST_POS => C_REG_COST_POS,
    I_COST_NEG => C_REG_COST_NEG,
    I_REG_SHIFT => C_REG_REG_SHIFT,
    I_BINARIZE_VALUE => C_REG_BINARIZE_VALUE,
    I_DELAY => C_REG_DELAY,
    I_CHUNK_SAMPLES => C_REG_CHUNK_SAMPLES);
  constant C_RW_RESET : t_word_arr := (
    I_MODE => to_word(C_RESET_MODE),
    I_NUM_SAMPLES => to_word(C_RESET_NUM_SAMPLES),
    I_NUM_FEATURES => to_word(C_RESET_NUM_FEATURES),
    I_NUM_EPOCHS => to_word(C_RESET_NUM_EPOCHS),
    I_STEP_SIZE => to_word(C_RESET_STEP_SIZE),
    I_STEP_DECAY => to_word(C_RESET_STEP_DECAY),
    I_COST_POS => to_word(C_RESET_COST_POS),
    I_COST_NEG => to_word(C_RESET_COST_NEG),
    I_REG_SHIFT => to_word(C_RESET_REG_SHIFT),
    I_BINARIZE_VALUE => to_word(C_RESET_BINARIZE_VALUE),
    I_DELAY => to_word(C_RESET_DELAY),
    I_CHUNK_SAMPLES => to_word(C_RESET_CHUNK_SAMPLES));

  -- CONFIG is a constant of the generics
  function config_word return t_word is
    variable v : t_word := (others => '0');
  begin
    v(C_CONFIG_BITS_LSB + C_CONFIG_BITS_WIDTH - 1 downto C_CONFIG_BITS_LSB) :=
      std_logic_vector(to_unsigned(G_BITS, C_CONFIG_BITS_WIDTH));
    if G_FP_XILINX then
      v(C_CONFIG_FP_XILINX_LSB) := '1';
    end if;
    return v;
  end function;

  -- Is CTRL bit 'lsb' written with a 1 (and its byte lane strobed)?
  function ctrl_bit(data : t_word; strb : std_logic_vector(3 downto 0); lsb : natural)
    return std_logic is
  begin
    return data(lsb) and strb(lsb / 8);
  end function;

  -------------------------------------------------------------------------------------------------
  -- State
  -------------------------------------------------------------------------------------------------
  type t_reg is record
    -- write address / data holding registers
    AwReady  : std_logic;
    AwHave   : std_logic;
    AwIdx    : t_widx;
    WReady   : std_logic;
    WHave    : std_logic;
    WData    : t_word;
    WStrb    : std_logic_vector(3 downto 0);
    BValid   : std_logic;
    -- read
    ArReady  : std_logic;
    RValid   : std_logic;
    RData    : t_word;
    -- registers
    Rw       : t_word_arr;
    CyclesHi : t_word;
    WordsHi  : t_word;
    -- control pulses
    Start    : std_logic;
    SoftRst  : std_logic;
    Abort    : std_logic;
  end record;

  constant C_REG_RESET : t_reg := (
    AwReady  => '0', AwHave => '0', AwIdx => (others => '0'),
    WReady   => '0', WHave => '0', WData => (others => '0'), WStrb => (others => '0'),
    BValid   => '0',
    ArReady  => '0', RValid => '0', RData => (others => '0'),
    Rw       => C_RW_RESET, CyclesHi => (others => '0'), WordsHi => (others => '0'),
    Start    => '0', SoftRst => '0', Abort => '0');

  signal r, r_next : t_reg := C_REG_RESET;

begin

  -------------------------------------------------------------------------------------------------
  -- Elaboration checks
  -------------------------------------------------------------------------------------------------
  assert G_BITS < 2 ** C_CONFIG_BITS_WIDTH
    report "zipml_axil_regs: G_BITS = " & integer'image(G_BITS) & " does not fit CONFIG.BITS"
    severity failure;
  assert G_MAX_DIM >= 1 and G_MAX_DIM <= C_MAX_DIM_LIMIT
    report "zipml_axil_regs: G_MAX_DIM = " & integer'image(G_MAX_DIM) & " outside 1.."
           & integer'image(C_MAX_DIM_LIMIT)
    severity failure;
  assert C_STATUS_ERROR_WIDTH = st_error'length
    report "zipml_axil_regs: STATUS.ERROR width differs from st_error" severity failure;

  -------------------------------------------------------------------------------------------------
  -- Combinational next state
  -------------------------------------------------------------------------------------------------
  p_comb : process (all)
    variable v      : t_reg;
    variable v_idx  : t_widx;
    variable v_rd   : t_word;
  begin
    v := r;

    -- pulses last one cycle
    v.Start   := '0';
    v.SoftRst := '0';
    v.Abort   := '0';

    -- *** write channel ***
    -- response accepted
    if r.BValid = '1' and s_axi_bready = '1' then
      v.BValid := '0';
    end if;
    -- capture address and data independently
    if r.AwReady = '1' and s_axi_awvalid = '1' then
      v.AwHave := '1';
      v.AwIdx  := unsigned(s_axi_awaddr(s_axi_awaddr'high downto 2));
    end if;
    if r.WReady = '1' and s_axi_wvalid = '1' then
      v.WHave := '1';
      v.WData := s_axi_wdata;
      v.WStrb := s_axi_wstrb;
    end if;
    -- perform the write once both are held and no response is pending
    if r.AwHave = '1' and r.WHave = '1' and r.BValid = '0' then
      for i in t_rw_idx loop
        if r.AwIdx = widx(C_RW_OFFSET(i)) then
          for b in 0 to 3 loop
            if r.WStrb(b) = '1' then
              v.Rw(i)(8 * b + 7 downto 8 * b) := r.WData(8 * b + 7 downto 8 * b);
            end if;
          end loop;
        end if;
      end loop;
      if r.AwIdx = widx(C_REG_CTRL) then
        v.Start   := ctrl_bit(r.WData, r.WStrb, C_CTRL_START_LSB);
        v.SoftRst := ctrl_bit(r.WData, r.WStrb, C_CTRL_SOFT_RESET_LSB);
        v.Abort   := ctrl_bit(r.WData, r.WStrb, C_CTRL_ABORT_LSB);
      end if;
      v.AwHave := '0';
      v.WHave  := '0';
      v.BValid := '1';
    end if;
    v.AwReady := not v.AwHave;
    v.WReady  := not v.WHave;

    -- *** read channel ***
    if r.RValid = '1' and s_axi_rready = '1' then
      v.RValid := '0';
    end if;
    if r.ArReady = '1' and s_axi_arvalid = '1' then
      v_idx := unsigned(s_axi_araddr(s_axi_araddr'high downto 2));
      v_rd  := (others => '0');   -- unmapped and write-only (CTRL) offsets read 0
      if v_idx = widx(C_REG_ID) then
        v_rd := to_word(C_ID_VALUE);
      elsif v_idx = widx(C_REG_VERSION) then
        v_rd := to_word(C_VERSION_VALUE);
      elsif v_idx = widx(C_REG_CONFIG) then
        v_rd := config_word;
      elsif v_idx = widx(C_REG_MAX_DIM) then
        v_rd := to_word(G_MAX_DIM);
      elsif v_idx = widx(C_REG_FIFO_WORDS) then
        v_rd := to_word(G_FIFO_WORDS);
      elsif v_idx = widx(C_REG_STATUS) then
        v_rd(C_STATUS_BUSY_LSB) := st_busy;
        v_rd(C_STATUS_DONE_LSB) := st_done;
        v_rd(C_STATUS_SAT_LSB)  := st_sat;
        v_rd(C_STATUS_ERROR_LSB + C_STATUS_ERROR_WIDTH - 1 downto C_STATUS_ERROR_LSB) := st_error;
      elsif v_idx = widx(C_REG_STALENESS) then
        v_rd := st_staleness;
      elsif v_idx = widx(C_REG_EPOCH_COUNT) then
        v_rd := st_epoch_count;
      elsif v_idx = widx(C_REG_SAMPLE_COUNT) then
        v_rd := st_sample_count;
      elsif v_idx = widx(C_REG_CYCLES_LO) then
        v_rd       := st_cycles(31 downto 0);
        v.CyclesHi := st_cycles(63 downto 32);
      elsif v_idx = widx(C_REG_CYCLES_HI) then
        v_rd := r.CyclesHi;
      elsif v_idx = widx(C_REG_WORDS_LO) then
        v_rd      := st_words(31 downto 0);
        v.WordsHi := st_words(63 downto 32);
      elsif v_idx = widx(C_REG_WORDS_HI) then
        v_rd := r.WordsHi;
      elsif v_idx = widx(C_REG_ERROR_INFO) then
        v_rd := st_error_info;
      else
        for i in t_rw_idx loop
          if v_idx = widx(C_RW_OFFSET(i)) then
            v_rd := r.Rw(i);
          end if;
        end loop;
      end if;
      v.RData  := v_rd;
      v.RValid := '1';
    end if;
    v.ArReady := not v.RValid;

    r_next <= v;
  end process;

  -------------------------------------------------------------------------------------------------
  -- Registers (synchronous reset)
  -------------------------------------------------------------------------------------------------
  p_seq : process (aclk)
  begin
    if rising_edge(aclk) then
      if aresetn = '0' then
        r <= C_REG_RESET;
      else
        r <= r_next;
      end if;
    end if;
  end process;

  -------------------------------------------------------------------------------------------------
  -- Outputs
  -------------------------------------------------------------------------------------------------
  s_axi_awready <= r.AwReady;
  s_axi_wready  <= r.WReady;
  s_axi_bresp   <= "00";   -- OKAY
  s_axi_bvalid  <= r.BValid;
  s_axi_arready <= r.ArReady;
  s_axi_rdata   <= r.RData;
  s_axi_rresp   <= "00";   -- OKAY
  s_axi_rvalid  <= r.RValid;

  ctrl_start      <= r.Start;
  ctrl_soft_reset <= r.SoftRst;
  ctrl_abort      <= r.Abort;

  reg_mode           <= r.Rw(I_MODE);
  reg_num_samples    <= r.Rw(I_NUM_SAMPLES);
  reg_num_features   <= r.Rw(I_NUM_FEATURES);
  reg_num_epochs     <= r.Rw(I_NUM_EPOCHS);
  reg_step_size      <= r.Rw(I_STEP_SIZE);
  reg_step_decay     <= r.Rw(I_STEP_DECAY);
  reg_cost_pos       <= r.Rw(I_COST_POS);
  reg_cost_neg       <= r.Rw(I_COST_NEG);
  reg_reg_shift      <= r.Rw(I_REG_SHIFT);
  reg_binarize_value <= r.Rw(I_BINARIZE_VALUE);
  reg_delay          <= r.Rw(I_DELAY);
  reg_chunk_samples  <= r.Rw(I_CHUNK_SAMPLES);

end architecture rtl;
