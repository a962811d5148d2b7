---------------------------------------------------------------------------------------------------
-- ZipML-PYNQ SGD engine: top level (docs/ENGINE.md section 9)
---------------------------------------------------------------------------------------------------
-- Description
--   The AXI4-Lite register file (zipml_axil_regs) and the engine core (zipml_core), for one
--   precision. Ports as in section 9: 64-bit sample stream in, 32-bit model stream out,
--   AXI4-Lite registers; one clock, synchronous active-low reset.
--
-- Generics
--   G_BITS       : 0 (float32 samples) or 1, 2, 4, 8.
--   G_MAX_DIM    : largest d, a multiple of 64 (8192 on the board builds).
--   G_FP_XILINX  : true: the scalar FP units are the Xilinx Floating-Point Operator IP.
--   G_FIFO_WORDS : sample FIFO capacity in 64-bit words; default default_fifo_words(G_BITS,
--                  G_MAX_DIM) = zipml.spec.default_fifo_words (a test checks they agree).
--   G_TEST_SCALAR_DELAY : test benches only (default 0): extra latency of the scalar stage, so
--                  that the stall of section 6 happens; never set it in a build.
---------------------------------------------------------------------------------------------------

library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

library work;
use work.zipml_spec_pkg.all;
use work.zipml_core_pkg.all;

entity zipml_sgd_engine is
  generic (
    G_BITS       : natural := 8;
    G_MAX_DIM    : natural := C_DEFAULT_MAX_DIM;
    G_FP_XILINX  : boolean := false;
    G_FIFO_WORDS : natural := 0;          -- 0: default_fifo_words(G_BITS, G_MAX_DIM)
    G_TEST_SCALAR_DELAY : natural := 0    -- test benches only: delays every scalar S by this
                                          -- many cycles to exercise the input stall (keep 0)
  );
  port (
    aclk          : in  std_logic;
    aresetn       : in  std_logic;
    -- samples (AXI DMA MM2S)
    s_axis_tdata  : in  std_logic_vector(C_IN_WIDTH - 1 downto 0);
    s_axis_tvalid : in  std_logic;
    s_axis_tready : out std_logic;
    s_axis_tlast  : in  std_logic;
    -- models (AXI DMA S2MM)
    m_axis_tdata  : out std_logic_vector(C_OUT_WIDTH - 1 downto 0);
    m_axis_tvalid : out std_logic;
    m_axis_tready : in  std_logic;
    m_axis_tlast  : out std_logic;
    -- registers (AXI4-Lite)
    s_axi_awaddr  : in  std_logic_vector(C_AXIL_ADDR_WIDTH - 1 downto 0);
    s_axi_awprot  : in  std_logic_vector(2 downto 0);
    s_axi_awvalid : in  std_logic;
    s_axi_awready : out std_logic;
    s_axi_wdata   : in  std_logic_vector(C_AXIL_DATA_WIDTH - 1 downto 0);
    s_axi_wstrb   : in  std_logic_vector(C_AXIL_DATA_WIDTH / 8 - 1 downto 0);
    s_axi_wvalid  : in  std_logic;
    s_axi_wready  : out std_logic;
    s_axi_bresp   : out std_logic_vector(1 downto 0);
    s_axi_bvalid  : out std_logic;
    s_axi_bready  : in  std_logic;
    s_axi_araddr  : in  std_logic_vector(C_AXIL_ADDR_WIDTH - 1 downto 0);
    s_axi_arprot  : in  std_logic_vector(2 downto 0);
    s_axi_arvalid : in  std_logic;
    s_axi_arready : out std_logic;
    s_axi_rdata   : out std_logic_vector(C_AXIL_DATA_WIDTH - 1 downto 0);
    s_axi_rresp   : out std_logic_vector(1 downto 0);
    s_axi_rvalid  : out std_logic;
    s_axi_rready  : in  std_logic
  );
end entity zipml_sgd_engine;

architecture rtl of zipml_sgd_engine is

  function fifo_words return natural is
  begin
    if G_FIFO_WORDS = 0 then
      return default_fifo_words(G_BITS, G_MAX_DIM);
    end if;
    return G_FIFO_WORDS;
  end function;
  constant C_FIFO_WORDS : natural := fifo_words;

  signal rst : std_logic;
  signal ctrl_start, ctrl_soft_reset, ctrl_abort : std_logic;
  signal reg_mode, reg_num_samples, reg_num_features, reg_num_epochs, reg_step_size,
         reg_step_decay, reg_cost_pos, reg_cost_neg, reg_reg_shift, reg_binarize_value,
         reg_delay, reg_chunk_samples : std_logic_vector(31 downto 0);
  signal st_busy, st_done, st_sat : std_logic;
  signal st_error : std_logic_vector(7 downto 0);
  signal st_staleness, st_epoch_count, st_sample_count, st_error_info :
    std_logic_vector(31 downto 0);
  signal st_cycles, st_words : std_logic_vector(63 downto 0);

begin

  assert G_BITS = 0 or G_BITS = 1 or G_BITS = 2 or G_BITS = 4 or G_BITS = 8
    report "zipml_sgd_engine: G_BITS must be 0, 1, 2, 4 or 8, got " & integer'image(G_BITS)
    severity failure;
  assert G_MAX_DIM mod 64 = 0 and G_MAX_DIM >= 64 and G_MAX_DIM <= C_MAX_DIM_LIMIT
    report "zipml_sgd_engine: G_MAX_DIM must be a multiple of 64 in 64.."
           & integer'image(C_MAX_DIM_LIMIT) & ", got " & integer'image(G_MAX_DIM)
    severity failure;
  assert C_FIFO_WORDS >= default_fifo_words(G_BITS, G_MAX_DIM)
         and 2 ** ilog2(C_FIFO_WORDS) = C_FIFO_WORDS
    report "zipml_sgd_engine: G_FIFO_WORDS must be a power of two >= "
           & integer'image(default_fifo_words(G_BITS, G_MAX_DIM)) & " (DELAY = 1 for every d)"
    severity failure;

  rst <= not aresetn;

  u_regs : entity work.zipml_axil_regs
    generic map (G_BITS => G_BITS, G_MAX_DIM => G_MAX_DIM, G_FIFO_WORDS => C_FIFO_WORDS,
                 G_FP_XILINX => G_FP_XILINX)
    port map (
      aclk => aclk, aresetn => aresetn,
      s_axi_awaddr => s_axi_awaddr, s_axi_awprot => s_axi_awprot,
      s_axi_awvalid => s_axi_awvalid, s_axi_awready => s_axi_awready,
      s_axi_wdata => s_axi_wdata, s_axi_wstrb => s_axi_wstrb, s_axi_wvalid => s_axi_wvalid,
      s_axi_wready => s_axi_wready, s_axi_bresp => s_axi_bresp, s_axi_bvalid => s_axi_bvalid,
      s_axi_bready => s_axi_bready, s_axi_araddr => s_axi_araddr,
      s_axi_arprot => s_axi_arprot, s_axi_arvalid => s_axi_arvalid,
      s_axi_arready => s_axi_arready, s_axi_rdata => s_axi_rdata, s_axi_rresp => s_axi_rresp,
      s_axi_rvalid => s_axi_rvalid, s_axi_rready => s_axi_rready,
      ctrl_start => ctrl_start, ctrl_soft_reset => ctrl_soft_reset, ctrl_abort => ctrl_abort,
      reg_mode => reg_mode, reg_num_samples => reg_num_samples,
      reg_num_features => reg_num_features, reg_num_epochs => reg_num_epochs,
      reg_step_size => reg_step_size, reg_step_decay => reg_step_decay,
      reg_cost_pos => reg_cost_pos, reg_cost_neg => reg_cost_neg,
      reg_reg_shift => reg_reg_shift, reg_binarize_value => reg_binarize_value,
      reg_delay => reg_delay, reg_chunk_samples => reg_chunk_samples,
      st_busy => st_busy, st_done => st_done, st_sat => st_sat, st_error => st_error,
      st_staleness => st_staleness, st_epoch_count => st_epoch_count,
      st_sample_count => st_sample_count, st_error_info => st_error_info,
      st_cycles => st_cycles, st_words => st_words);

  u_core : entity work.zipml_core
    generic map (G_BITS => G_BITS, G_MAX_DIM => G_MAX_DIM, G_FIFO_WORDS => C_FIFO_WORDS,
                 G_FP_XILINX => G_FP_XILINX, G_TEST_SCALAR_DELAY => G_TEST_SCALAR_DELAY)
    port map (
      clk => aclk, rst => rst,
      ctrl_start => ctrl_start, ctrl_soft_reset => ctrl_soft_reset, ctrl_abort => ctrl_abort,
      reg_mode => reg_mode, reg_num_samples => reg_num_samples,
      reg_num_features => reg_num_features, reg_num_epochs => reg_num_epochs,
      reg_step_size => reg_step_size, reg_step_decay => reg_step_decay,
      reg_cost_pos => reg_cost_pos, reg_cost_neg => reg_cost_neg,
      reg_reg_shift => reg_reg_shift, reg_binarize_value => reg_binarize_value,
      reg_delay => reg_delay, reg_chunk_samples => reg_chunk_samples,
      st_busy => st_busy, st_done => st_done, st_sat => st_sat, st_error => st_error,
      st_staleness => st_staleness, st_epoch_count => st_epoch_count,
      st_sample_count => st_sample_count, st_error_info => st_error_info,
      st_cycles => st_cycles, st_words => st_words,
      s_axis_tdata => s_axis_tdata, s_axis_tvalid => s_axis_tvalid,
      s_axis_tready => s_axis_tready, s_axis_tlast => s_axis_tlast,
      m_axis_tdata => m_axis_tdata, m_axis_tvalid => m_axis_tvalid,
      m_axis_tready => m_axis_tready, m_axis_tlast => m_axis_tlast);

end architecture rtl;
