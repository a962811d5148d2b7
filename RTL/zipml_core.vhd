---------------------------------------------------------------------------------------------------
-- ZipML-PYNQ SGD engine: core (control, stream sequencing, sample FIFO, datapath wiring)
---------------------------------------------------------------------------------------------------
-- Description
--   Runs docs/ENGINE.md: START/SOFT_RESET/ABORT (7.1), configuration check (7.4, through
--   zipml_cfg_check), model clear, per-epoch constants (5.1), the sample stream (3, 4, 7.5) with
--   the delayed-update schedule of section 6, the end-of-epoch drain, the model output (8),
--   data errors (7.4) and the status/counters of 7.2/7.3.
--
--   Stream schedule (one word per cycle at steady state): every accepted word becomes an "op"
--   that flows down a free-running pipeline (stage numbers in zipml_core_pkg):
--   - data word c of copy A of sample m: reads model word c (forwarded if in flight); the value
--     before the update feeds the dot product of m; if m >= S_d the same op applies the update
--     of sample k = m - S_d to word c (its FIFO word and scalar S_k) and writes it back;
--   - the data words used for the update (copy A, or copy B with double sampling) are pushed
--     into the sample FIFO;
--   - the label word ends the dot product of m: the accumulator goes to the scalar stage, whose
--     result S_m enters the scalar queue.
--   The input is held (s_axis_tready low) at word 0 of a sample m >= S_d while S_{m-S_d} is not
--   in the scalar queue: timing only, never results. After sample n-1 the drain applies the
--   updates of samples max(0, n-S_d) .. n-1 (ops without input words, two cycles apart at least
--   on the same word). The drain's write-backs also go to an output snapshot (zipml_model_mem);
--   the model frame is emitted from it on m_axis while the next epoch already streams in (a
--   drain waits until the previous frame is out; BUSY ends after the last frame). EPOCH_COUNT
--   counts the frames that have gone out.
--
--   Data errors are detected combinationally on the accepted word (content first, then tlast,
--   as zipml/reference.py reads 7.4); the word is not used, model writes stop, words are
--   discarded up to the next tlast, then one model frame (undefined contents: the model memory
--   as it is) is emitted and DONE set.
--
-- Generics
--   G_BITS, G_MAX_DIM, G_FIFO_WORDS, G_FP_XILINX : see zipml_sgd_engine.
---------------------------------------------------------------------------------------------------

library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

library work;
use work.zipml_spec_pkg.all;
use work.zipml_core_pkg.all;
use work.zipml_fp_pkg.all;

entity zipml_core is
  generic (
    G_BITS       : natural;
    G_MAX_DIM    : natural;
    G_FIFO_WORDS : natural;
    G_FP_XILINX  : boolean := false;
    G_TEST_SCALAR_DELAY : natural := 0   -- test only: extra scalar latency (forces stalls)
  );
  port (
    clk                : in  std_logic;
    rst                : in  std_logic;                       -- synchronous, active high
    -- control pulses and parameter registers (zipml_axil_regs)
    ctrl_start         : in  std_logic;
    ctrl_soft_reset    : in  std_logic;
    ctrl_abort         : in  std_logic;
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
    reg_chunk_samples  : in  std_logic_vector(31 downto 0);
    -- status
    st_busy            : out std_logic;
    st_done            : out std_logic;
    st_sat             : out std_logic;
    st_error           : out std_logic_vector(7 downto 0);
    st_staleness       : out std_logic_vector(31 downto 0);
    st_epoch_count     : out std_logic_vector(31 downto 0);
    st_sample_count    : out std_logic_vector(31 downto 0);
    st_error_info      : out std_logic_vector(31 downto 0);
    st_cycles          : out std_logic_vector(63 downto 0);
    st_words           : out std_logic_vector(63 downto 0);
    -- sample stream
    s_axis_tdata       : in  std_logic_vector(63 downto 0);
    s_axis_tvalid      : in  std_logic;
    s_axis_tready      : out std_logic;
    s_axis_tlast       : in  std_logic;
    -- model stream
    m_axis_tdata       : out std_logic_vector(31 downto 0);
    m_axis_tvalid      : out std_logic;
    m_axis_tready      : in  std_logic;
    m_axis_tlast       : out std_logic
  );
end entity zipml_core;

architecture rtl of zipml_core is
  constant V   : natural := lanes(G_BITS);
  constant QW  : natural := q_width(G_BITS);
  constant NW  : natural := model_words(G_BITS, G_MAX_DIM);
  constant AW  : natural := clog2(NW);
  constant DW  : natural := clog2(2 * NW + 2);                -- bits of D and W
  constant DLW : natural := delta_width(G_BITS);              -- bits of a lane delta
  constant FAW : natural := clog2(G_FIFO_WORDS);
  constant LM  : natural := fp_mul_latency(G_FP_XILINX);
  constant LD  : natural := ilog2(V) + 3 + C_MUL_PIPE;         -- dot product latency
  constant R   : natural := C_STAGE_MREAD;                     -- model read stage
  constant C_FLUSH : natural := R + 8;                         -- cycles for the op pipeline to empty
  -- bits of cnt: it counts model words (clear), LM + 2 (prep) and C_FLUSH; wide enough for
  -- each, so that no comparison below has a constant wider than cnt (ghdl synth 2.0 truncates
  -- such a constant instead of comparing numerically: with G_MAX_DIM = 128 at Q1 the flush
  -- ended after 3 cycles and every model frame came out one epoch late)
  constant CW  : natural := maximum(AW + 1, clog2(maximum(C_FLUSH, LM + 2) + 1));

  constant F_ONE  : std_logic_vector(31 downto 0) := x"3F800000";
  constant F_MONE : std_logic_vector(31 downto 0) := x"BF800000";

  type t_state is (S_IDLE, S_CLEAR, S_PREP, S_RUN, S_DRAIN, S_FLUSH, S_FINAL, S_DISCARD,
                   S_EFLUSH, S_EOUT);
  type t_phase is (PH_A, PH_B, PH_L);

  function flush32(f : std_logic_vector(31 downto 0)) return std_logic_vector is
  begin
    if f(30 downto 23) = x"00" then
      return f(31) & (30 downto 0 => '0');
    end if;
    return f;
  end function;

  function b2sl(b : boolean) return std_logic is
  begin
    if b then
      return '1';
    end if;
    return '0';
  end function;

  function feq(a, b : std_logic_vector(31 downto 0)) return boolean is
  begin
    -- a, b flushed and finite: -0 == +0
    return a = b or (a(30 downto 0) = (30 downto 0 => '0') and b(30 downto 0) = (30 downto 0 => '0'));
  end function;

  -------------------------------------------------------------------------------------------------
  -- configuration
  signal chk_err   : unsigned(7 downto 0);
  signal chk_dw, chk_ww : unsigned(DW - 1 downto 0);
  signal chk_sd    : unsigned(31 downto 0);
  signal chk_mask  : std_logic_vector(V - 1 downto 0);

  signal c_loss    : std_logic_vector(1 downto 0) := "00";
  signal c_signed, c_binarize, c_ds : std_logic := '0';
  signal c_n, c_epochs, c_chunk, c_sd, c_d : unsigned(31 downto 0) := (others => '0');
  signal c_step, c_decay, c_cpos, c_cneg, c_binval : std_logic_vector(31 downto 0) := (others => '0');
  signal c_rshift  : unsigned(4 downto 0) := (others => '0');
  signal c_dw      : unsigned(DW - 1 downto 0) := (others => '0');
  -- the run constants minus one, registered at START (timing: equality compares with the
  -- counters instead of an adder in front of each compare; same results modulo 2^width)
  signal c_dwm1    : unsigned(DW - 1 downto 0) := (others => '0');
  signal c_nm1, c_chunkm1, c_epochsm1, c_dm1 : unsigned(31 downto 0) := (others => '0');
  signal c_mask    : std_logic_vector(V - 1 downto 0) := (others => '1');
  signal c_ndrain  : unsigned(31 downto 0) := (others => '0');

  -------------------------------------------------------------------------------------------------
  -- control state
  signal state     : t_state := S_IDLE;
  signal phase     : t_phase := PH_A;
  signal wc        : unsigned(DW - 1 downto 0) := (others => '0');   -- word index in the copy
  signal m_idx     : unsigned(31 downto 0) := (others => '0');       -- sample in the epoch
  signal chk_cnt   : unsigned(31 downto 0) := (others => '0');       -- sample in the transfer
  signal sd_left   : unsigned(31 downto 0) := (others => '0');       -- samples until updates start
  signal epoch     : unsigned(31 downto 0) := (others => '0');
  signal cnt       : unsigned(CW - 1 downto 0) := (others => '0');       -- clear / prep / flush counter
  signal dr_left   : unsigned(31 downto 0) := (others => '0');       -- drain samples left
  signal dr_gap    : std_logic := '0';
  signal wr_block  : std_logic := '0';

  signal gamma, gamma_next, kp, kn : std_logic_vector(31 downto 0) := (others => '0');
  signal mul_a, mul_b, mul_r : std_logic_vector(31 downto 0);

  -- status
  signal busy, done, sat : std_logic := '0';
  signal err       : std_logic_vector(7 downto 0) := (others => '0');
  signal err_info  : unsigned(31 downto 0) := (others => '0');
  signal staleness, epoch_count, sample_count : unsigned(31 downto 0) := (others => '0');
  signal cycles, words : unsigned(63 downto 0) := (others => '0');

  -------------------------------------------------------------------------------------------------
  -- stage 0 (combinational)
  signal tready_i  : std_logic;
  signal acc_ok    : std_logic;
  signal need_s    : std_logic;
  signal dec_err   : std_logic;
  signal lbl_err   : std_logic;
  signal lbl_y     : std_logic_vector(31 downto 0);
  signal lbl_ypos  : std_logic;
  signal exp_last  : std_logic;
  signal mask0     : std_logic_vector(V - 1 downto 0);
  signal op0_v, op0_dot, op0_upd, op0_fifo, op0_lbl, op0_pop, op0_last : std_logic;
  signal op0_addr  : unsigned(AW - 1 downto 0);
  signal run_op, drain_op : std_logic;

  -- op pipeline
  type t_op is record
    vld, dot, upd, fifo, lbl, pop, snap : std_logic;
    addr : unsigned(AW - 1 downto 0);
    mask : std_logic_vector(V - 1 downto 0);
  end record;
  constant C_OP0 : t_op := ('0', '0', '0', '0', '0', '0', '0', (others => '0'), (others => '0'));
  type t_ops is array (1 to R + 2) of t_op;
  signal ops : t_ops := (others => C_OP0);
  signal dp_rst : std_logic;

  signal tdata1, tdata2 : std_logic_vector(63 downto 0) := (others => '0');
  signal s_hold, s1 : std_logic_vector(31 downto 0) := (others => '0');
  signal q2, qd     : std_logic_vector(V * QW - 1 downto 0);
  signal delta3     : std_logic_vector(V * DLW - 1 downto 0);
  signal x4         : std_logic_vector(V * 32 - 1 downto 0);
  signal mm_sat     : std_logic;

  -- sample FIFO and scalar queue
  signal f_wr, f_rd : unsigned(FAW - 1 downto 0) := (others => '0');
  signal f_we       : std_logic;
  signal f_wdata, f_rdata : std_logic_vector(63 downto 0);
  signal sq_wr, sq_rd : unsigned(FAW - 1 downto 0) := (others => '0');
  signal sq_count   : unsigned(FAW downto 0) := (others => '0');
  signal sq_rdata   : std_logic_vector(31 downto 0);
  signal sq_push, sq_pop : std_logic;

  -- dot product and scalar stage
  signal lblinfo1, lblinfo_d : std_logic_vector(32 downto 0);
  signal acc_v      : std_logic;
  signal acc        : std_logic_vector(C_ACC_W - 1 downto 0);
  signal sc_v, sc_sat : std_logic;
  signal sc_s       : std_logic_vector(31 downto 0);
  signal sc0_v, sc0_sat : std_logic;
  signal sc0_s      : std_logic_vector(31 downto 0);
  signal sc0_vv, sc_vv : std_logic_vector(0 downto 0);
  signal sc0_d, sc_d : std_logic_vector(32 downto 0);

  -- model memory side ports
  signal clr_we     : std_logic;
  signal mm_rd_data : std_logic_vector(V * 32 - 1 downto 0);

  -- output
  type t_ofifo is array (0 to 3) of std_logic_vector(32 downto 0);
  signal ofifo      : t_ofifo := (others => (others => '0'));
  signal of_cnt     : unsigned(2 downto 0) := (others => '0');
  signal of_rp, of_wp : unsigned(1 downto 0) := (others => '0');
  signal o_j        : unsigned(31 downto 0) := (others => '0');      -- next element to read
  signal o_word     : unsigned(AW - 1 downto 0) := (others => '0');
  signal o_lane     : unsigned(ilog2(V) downto 0) := (others => '0');
  signal o_rv1, o_rv2 : std_logic := '0';
  signal o_lane1    : unsigned(ilog2(V) downto 0) := (others => '0');
  signal o_last1, o_last2 : std_logic := '0';
  signal o_data2    : std_logic_vector(31 downto 0) := (others => '0');
  signal o_issue    : std_logic;
  signal o_err_frame : std_logic := '0';
  signal out_busy   : std_logic := '0';                             -- a model frame is going out
  signal m_valid_i, m_hs : std_logic;
  -- port-map actuals as plain signals (ghdl synth 2.0 mishandles expressions in port maps)
  signal mm_op_valid, dp_in_dot, dp_in_last : std_logic;

  -- Cycles from accepting a label word to its S being poppable from the scalar queue: op
  -- pipeline to the dot product, dot product, scalar stage (zipml_scalar), queue write.
  constant C_SCALAR_LAT : natural := fp_fix2flt_latency(G_FP_XILINX)
                                     + 2 * fp_mul_latency(G_FP_XILINX)
                                     + 3 * fp_add_latency(G_FP_XILINX)
                                     + fp_flt2fix_latency(G_FP_XILINX);
  constant C_SAMPLE_LAT : natural := R + 2 + LD + C_SCALAR_LAT + 2;
begin

  -- Section 6: S_d >= 1 + ceil(LATENCY_BUDGET / W) puts at least LATENCY_BUDGET + 1 cycles
  -- between the label word of sample k and the first word of sample k + S_d at full rate; the
  -- engine stalls only if its latency exceeds that.
  assert C_SAMPLE_LAT < C_LATENCY_BUDGET
    report "zipml_core: sample latency " & integer'image(C_SAMPLE_LAT)
           & " cycles exceeds LATENCY_BUDGET" severity failure;

  -------------------------------------------------------------------------------------------------
  -- configuration check (continuous)
  -------------------------------------------------------------------------------------------------
  u_chk : entity work.zipml_cfg_check
    generic map (G_BITS => G_BITS, G_MAX_DIM => G_MAX_DIM, G_FIFO_WORDS => G_FIFO_WORDS,
                 G_DW => DW)
    port map (clk => clk, reg_mode => reg_mode, reg_num_samples => reg_num_samples,
              reg_num_features => reg_num_features, reg_num_epochs => reg_num_epochs,
              reg_step_size => reg_step_size, reg_step_decay => reg_step_decay,
              reg_cost_pos => reg_cost_pos, reg_cost_neg => reg_cost_neg,
              reg_reg_shift => reg_reg_shift, reg_binarize_value => reg_binarize_value,
              reg_delay => reg_delay, err_code => chk_err, dw_out => chk_dw, ww_out => chk_ww,
              sd_out => chk_sd, last_mask => chk_mask);

  -------------------------------------------------------------------------------------------------
  -- stage 0: what the current word is, checks, op issue
  -------------------------------------------------------------------------------------------------
  need_s   <= '1' when phase = PH_A and wc = 0 and sd_left = 0 else '0';
  tready_i <= '1' when (state = S_RUN and not (need_s = '1' and sq_count = 0))
                       or state = S_DISCARD else '0';
  s_axis_tready <= tready_i;
  acc_ok   <= s_axis_tvalid and tready_i;

  mask0 <= c_mask when wc = c_dwm1 else (others => '1');
  u_dec : entity work.zipml_lane_decode
    generic map (G_BITS => G_BITS)
    port map (clk => clk, signed_mode => c_signed, mask => mask0, din => s_axis_tdata,
              err => dec_err, q_out => q2);

  -- label (section 4)
  process (all)
    variable y : std_logic_vector(31 downto 0);
  begin
    y := flush32(s_axis_tdata(31 downto 0));
    lbl_err <= '0';
    if s_axis_tdata(30 downto 23) = x"FF" then
      lbl_err <= '1';
    end if;
    if c_binarize = '1' then
      if feq(y, c_binval) then
        lbl_y <= F_ONE;  lbl_ypos <= '1';
      else
        lbl_y <= F_MONE; lbl_ypos <= '0';
      end if;
    else
      lbl_y <= y;
      lbl_ypos <= '1' when y = F_ONE else '0';
      if unsigned(c_loss) /= C_LOSS_LINREG and y /= F_ONE and y /= F_MONE then
        lbl_err <= '1';
      end if;
    end if;
  end process;

  exp_last <= '1' when phase = PH_L and (chk_cnt = c_chunkm1 or m_idx = c_nm1) else '0';

  run_op <= '1' when state = S_RUN and acc_ok = '1'
                     and not ((phase /= PH_L and dec_err = '1') or (phase = PH_L and lbl_err = '1')
                              or s_axis_tlast /= exp_last) else '0';
  -- drain ops also write the output snapshot: only once the previous model frame is out
  drain_op <= '1' when state = S_DRAIN and dr_left /= 0 and dr_gap = '0' and out_busy = '0'
                       and not (wc = 0 and sq_count = 0) else '0';

  op0_v    <= run_op or drain_op;
  op0_dot  <= run_op when phase = PH_A else '0';
  op0_upd  <= drain_op or (run_op and b2sl(phase = PH_A and sd_left = 0));
  op0_fifo <= run_op when (phase = PH_A and c_ds = '0') or phase = PH_B else '0';
  op0_lbl  <= run_op when phase = PH_L else '0';
  op0_pop  <= op0_upd when wc = 0 else '0';
  op0_addr <= resize(wc, AW);
  sq_pop   <= op0_pop;

  -------------------------------------------------------------------------------------------------
  -- sample FIFO (update copies), scalar queue
  -------------------------------------------------------------------------------------------------
  u_fifo : entity work.zipml_sdp_ram
    generic map (G_WIDTH => 64, G_DEPTH => G_FIFO_WORDS, G_AW => FAW)
    port map (clk => clk, we => f_we, wr_addr => f_wr, wr_data => f_wdata, rd_addr => f_rd,
              rd_data => f_rdata);
  f_we <= ops(2).vld and ops(2).fifo;
  g_fq0 : if G_BITS = 0 generate
    f_wdata <= q2;                   -- Q0: smp2fix values
  end generate;
  g_fqb : if G_BITS /= 0 generate
    f_wdata <= tdata2;               -- Qb: raw codes
  end generate;

  u_sq : entity work.zipml_sdp_ram
    generic map (G_WIDTH => 32, G_DEPTH => G_FIFO_WORDS, G_AW => FAW)
    port map (clk => clk, we => sq_push, wr_addr => sq_wr, wr_data => sc_s, rd_addr => sq_rd,
              rd_data => sq_rdata);
  sq_push <= sc_v;

  -------------------------------------------------------------------------------------------------
  -- op pipeline registers
  -------------------------------------------------------------------------------------------------
  dp_rst <= rst or ctrl_soft_reset or ctrl_abort or (ctrl_start and b2sl(state = S_IDLE));

  process (clk)
  begin
    if rising_edge(clk) then
      if dp_rst = '1' then
        ops <= (others => C_OP0);
      else
        ops(1) <= (vld => op0_v, dot => op0_dot, upd => op0_upd, fifo => op0_fifo, lbl => op0_lbl,
                   pop => op0_pop, snap => drain_op, addr => op0_addr, mask => mask0);
        ops(2 to R + 2) <= ops(1 to R + 1);
      end if;
      tdata1 <= s_axis_tdata;
      tdata2 <= tdata1;
      lblinfo1 <= lbl_ypos & lbl_y;
      if ops(1).vld = '1' and ops(1).pop = '1' then
        s_hold <= sq_rdata;
      end if;
    end if;
  end process;
  s1 <= sq_rdata when ops(1).pop = '1' else s_hold;

  u_delta : entity work.zipml_delta
    generic map (G_BITS => G_BITS)
    port map (clk => clk, signed_mode => c_signed, s_in => s1, fifo_word => f_rdata,
              delta => delta3);

  u_qd : entity work.zipml_delay
    generic map (G_WIDTH => V * QW, G_DEPTH => R)
    port map (clk => clk, rst => '0', din => q2, dout => qd);

  u_mm : entity work.zipml_model_mem
    generic map (G_LANES => V, G_WORDS => NW, G_AW => AW, G_DELTA_W => DLW)
    port map (clk => clk, rst => dp_rst,
              op_valid => mm_op_valid, op_upd => ops(R).upd,
              op_addr => ops(R).addr, op_mask => ops(R).mask, op_snap => ops(R).snap,
              delta => delta3,
              reg_shift => c_rshift, wr_block => wr_block, x_out => x4, sat => mm_sat,
              clr_we => clr_we, clr_addr => cnt(AW - 1 downto 0), snap_rd_addr => o_word,
              snap_rd_data => mm_rd_data);
  clr_we <= '1' when state = S_CLEAR else '0';
  mm_op_valid <= ops(R).vld and (ops(R).dot or ops(R).upd);
  dp_in_dot <= ops(R + 2).vld and ops(R + 2).dot;
  dp_in_last <= ops(R + 2).vld and ops(R + 2).lbl;

  u_dot : entity work.zipml_dot_product
    generic map (G_BITS => G_BITS)
    port map (clk => clk, rst => dp_rst, in_dot => dp_in_dot,
              in_last => dp_in_last, x => x4, q => qd, acc_valid => acc_v,
              acc_out => acc);

  -- label info from stage 1 to the dot-product output (stage R + 2 + LD)
  u_lbl : entity work.zipml_delay
    generic map (G_WIDTH => 33, G_DEPTH => R + 1 + LD)
    port map (clk => clk, rst => '0', din => lblinfo1, dout => lblinfo_d);

  u_scalar : entity work.zipml_scalar
    generic map (G_BITS => G_BITS, G_FP_XILINX => G_FP_XILINX)
    port map (clk => clk, rst => dp_rst, in_valid => acc_v, acc => acc, ypos => lblinfo_d(32),
              y => lblinfo_d(31 downto 0), loss => c_loss, gamma => gamma, kp => kp, kn => kn,
              out_valid => sc0_v, out_s => sc0_s, out_sat => sc0_sat);

  -- test only (G_TEST_SCALAR_DELAY > 0): S arrives later, so that the input must stall at the
  -- start of sample k + S_d (section 6); results must not change
  sc0_vv(0) <= sc0_v;
  sc0_d <= sc0_sat & sc0_s;
  u_tdel_v : entity work.zipml_delay
    generic map (G_WIDTH => 1, G_DEPTH => G_TEST_SCALAR_DELAY)
    port map (clk => clk, rst => dp_rst, din => sc0_vv, dout => sc_vv);
  u_tdel_d : entity work.zipml_delay
    generic map (G_WIDTH => 33, G_DEPTH => G_TEST_SCALAR_DELAY)
    port map (clk => clk, rst => '0', din => sc0_d, dout => sc_d);
  sc_v   <= sc_vv(0);
  sc_s   <= sc_d(31 downto 0);
  sc_sat <= sc_d(32);

  -- per-epoch constants
  u_mul : entity work.zipml_fp_mul
    generic map (G_FP_XILINX => G_FP_XILINX)
    port map (aclk => clk, in_valid => '1', in_a => mul_a, in_b => mul_b, out_valid => open,
              out_result => mul_r);
  mul_a <= gamma;
  mul_b <= c_cpos when cnt = 0 else c_cneg when cnt = 1 else c_decay;

  -------------------------------------------------------------------------------------------------
  -- model output
  -------------------------------------------------------------------------------------------------
  o_issue <= '1' when out_busy = '1' and o_j < c_d
                      and (of_cnt + unsigned'("00" & o_rv1) + unsigned'("00" & o_rv2)) < 4
             else '0';
  m_valid_i <= '1' when of_cnt /= 0 else '0';
  m_axis_tvalid <= m_valid_i;
  m_axis_tdata <= ofifo(to_integer(of_rp))(31 downto 0);
  m_axis_tlast <= ofifo(to_integer(of_rp))(32);
  m_hs <= m_valid_i and m_axis_tready;

  -------------------------------------------------------------------------------------------------
  -- control
  -------------------------------------------------------------------------------------------------
  process (clk)
    variable nd : unsigned(31 downto 0);
    variable inc, dec : boolean;
  begin
    if rising_edge(clk) then
      -- scalar queue and FIFO pointers
      if sq_push = '1' then
        sq_wr <= sq_wr + 1;
      end if;
      if sq_pop = '1' then
        sq_rd <= sq_rd + 1;
      end if;
      if sq_push = '1' and sq_pop = '0' then
        sq_count <= sq_count + 1;
      elsif sq_push = '0' and sq_pop = '1' then
        sq_count <= sq_count - 1;
      end if;
      if f_we = '1' then
        f_wr <= f_wr + 1;
      end if;
      if op0_v = '1' and op0_upd = '1' then
        f_rd <= f_rd + 1;
      end if;
      if busy = '1' then
        cycles <= cycles + 1;
      end if;
      if acc_ok = '1' then
        words <= words + 1;
      end if;
      if busy = '1' and ((sc_v = '1' and sc_sat = '1') or mm_sat = '1') then
        sat <= '1';
      end if;

      -- output read pipeline
      o_rv1 <= o_issue;
      o_lane1 <= o_lane;
      o_last1 <= '1' when o_j = c_dm1 else '0';
      o_rv2 <= o_rv1;
      o_last2 <= o_last1;
      o_data2 <= mm_rd_data(32 * to_integer(o_lane1(ilog2(V) - 1 downto 0)) + 31
                            downto 32 * to_integer(o_lane1(ilog2(V) - 1 downto 0)));
      if o_issue = '1' then
        o_j <= o_j + 1;
        if o_lane = V - 1 then
          o_lane <= (others => '0');
          o_word <= o_word + 1;
        else
          o_lane <= o_lane + 1;
        end if;
      end if;
      inc := o_rv2 = '1';
      dec := m_hs = '1';
      if inc then
        ofifo(to_integer(of_wp)) <= o_last2 & o_data2;
        of_wp <= of_wp + 1;
      end if;
      if dec then
        of_rp <= of_rp + 1;
      end if;
      if inc and not dec then
        of_cnt <= of_cnt + 1;
      elsif dec and not inc then
        of_cnt <= of_cnt - 1;
      end if;

      -- a model frame has gone out
      if out_busy = '1' and m_hs = '1' and ofifo(to_integer(of_rp))(32) = '1' then
        out_busy <= '0';
        if o_err_frame = '0' then
          epoch_count <= epoch_count + 1;
        end if;
      end if;

      case state is
        when S_IDLE =>
          null;

        when S_CLEAR =>
          if cnt = NW - 1 then
            cnt <= (others => '0');
            state <= S_PREP;
          else
            cnt <= cnt + 1;
          end if;

        when S_PREP =>
          -- cycle 0: gamma*cost_pos, 1: gamma*cost_neg, 2: gamma*decay; results LM later
          if cnt = LM then
            kp <= (not mul_r(31)) & mul_r(30 downto 0);
          elsif cnt = LM + 1 then
            kn <= mul_r;
          elsif cnt = LM + 2 then
            gamma_next <= mul_r;
          end if;
          if cnt = LM + 2 then
            cnt <= (others => '0');
            state <= S_RUN;
          else
            cnt <= cnt + 1;
          end if;

        when S_RUN =>
          if acc_ok = '1' then
            if run_op = '0' then
              -- data error on this word: content first, then tlast
              if (phase /= PH_L and dec_err = '1') then
                err <= std_logic_vector(to_unsigned(C_ERR_BAD_SAMPLE, 8));
              elsif (phase = PH_L and lbl_err = '1') then
                err <= std_logic_vector(to_unsigned(C_ERR_BAD_LABEL, 8));
              elsif s_axis_tlast = '1' then
                err <= std_logic_vector(to_unsigned(C_ERR_TLAST_EARLY, 8));
              else
                err <= std_logic_vector(to_unsigned(C_ERR_TLAST_MISSING, 8));
              end if;
              err_info <= m_idx;
              wr_block <= '1';
              cnt <= (others => '0');
              if s_axis_tlast = '1' then
                state <= S_EFLUSH;
              else
                state <= S_DISCARD;
              end if;
            else
              case phase is
                when PH_A =>
                  if wc = c_dwm1 then
                    wc <= (others => '0');
                    phase <= PH_B when c_ds = '1' else PH_L;
                  else
                    wc <= wc + 1;
                  end if;
                when PH_B =>
                  if wc = c_dwm1 then
                    wc <= (others => '0');
                    phase <= PH_L;
                  else
                    wc <= wc + 1;
                  end if;
                when PH_L =>
                  phase <= PH_A;
                  sample_count <= sample_count + 1;
                  m_idx <= m_idx + 1;
                  if chk_cnt = c_chunkm1 then
                    chk_cnt <= (others => '0');
                  else
                    chk_cnt <= chk_cnt + 1;
                  end if;
                  if sd_left /= 0 then
                    sd_left <= sd_left - 1;
                  end if;
                  if m_idx = c_nm1 then
                    state <= S_DRAIN;
                    dr_left <= c_ndrain;
                    dr_gap <= '0';
                  end if;
              end case;
            end if;
          end if;

        when S_DRAIN =>
          if dr_left = 0 then
            state <= S_FLUSH;
            cnt <= (others => '0');
          elsif dr_gap = '1' then
            dr_gap <= '0';
          elsif drain_op = '1' then
            if wc = c_dwm1 then
              wc <= (others => '0');
              dr_left <= dr_left - 1;
              if c_dw = 1 then
                dr_gap <= '1';
              end if;
            else
              wc <= wc + 1;
            end if;
          end if;

        when S_FLUSH =>
          -- the drain's last writes have landed in the snapshot: emit it, go on
          if cnt = C_FLUSH then
            cnt <= (others => '0');
            out_busy <= '1';
            o_err_frame <= '0';
            o_j <= (others => '0');
            o_word <= (others => '0');
            o_lane <= (others => '0');
            if epoch = c_epochsm1 then
              state <= S_FINAL;
            else
              epoch <= epoch + 1;
              gamma <= gamma_next;
              state <= S_PREP;
              phase <= PH_A;
              wc <= (others => '0');
              m_idx <= (others => '0');
              chk_cnt <= (others => '0');
              sd_left <= c_sd;
            end if;
          else
            cnt <= cnt + 1;
          end if;

        when S_EFLUSH =>
          -- after a data error: one model frame once the previous one is out
          if cnt = C_FLUSH and out_busy = '0' then
            cnt <= (others => '0');
            out_busy <= '1';
            o_err_frame <= '1';
            o_j <= (others => '0');
            o_word <= (others => '0');
            o_lane <= (others => '0');
            state <= S_EOUT;
          elsif cnt /= C_FLUSH then
            cnt <= cnt + 1;
          end if;

        when S_FINAL | S_EOUT =>
          if out_busy = '0' then
            state <= S_IDLE;
            busy <= '0';
            done <= '1';
          end if;

        when S_DISCARD =>
          if acc_ok = '1' and s_axis_tlast = '1' then
            state <= S_EFLUSH;
            cnt <= (others => '0');
          end if;

      end case;

      ---------------------------------------------------------------- START
      if ctrl_start = '1' and state = S_IDLE and busy = '0' then
        cycles <= (others => '0');
        words <= (others => '0');
        epoch_count <= (others => '0');
        sample_count <= (others => '0');
        err_info <= (others => '0');
        sat <= '0';
        staleness <= chk_sd;
        if chk_err /= 0 then
          err <= std_logic_vector(chk_err);
          done <= '1';
        else
          err <= (others => '0');
          done <= '0';
          busy <= '1';
          c_loss <= reg_mode(C_MODE_LOSS_LSB + 1 downto C_MODE_LOSS_LSB);
          c_signed <= reg_mode(C_MODE_SIGNED_LSB);
          c_binarize <= reg_mode(C_MODE_BINARIZE_LSB);
          c_ds <= reg_mode(C_MODE_DOUBLE_SAMPLING_LSB);
          c_n <= unsigned(reg_num_samples);
          c_d <= unsigned(reg_num_features);
          c_epochs <= unsigned(reg_num_epochs);
          c_chunk <= unsigned(reg_chunk_samples);
          c_nm1 <= unsigned(reg_num_samples) - 1;
          c_dm1 <= unsigned(reg_num_features) - 1;
          c_epochsm1 <= unsigned(reg_num_epochs) - 1;
          c_chunkm1 <= unsigned(reg_chunk_samples) - 1;
          c_step <= reg_step_size;
          c_decay <= reg_step_decay;
          c_cpos <= reg_cost_pos;
          c_cneg <= reg_cost_neg;
          c_binval <= flush32(reg_binarize_value);
          c_rshift <= unsigned(reg_reg_shift(4 downto 0));
          c_dw <= chk_dw;
          c_dwm1 <= chk_dw - 1;
          c_mask <= chk_mask;
          c_sd <= chk_sd;
          if chk_sd < unsigned(reg_num_samples) then
            c_ndrain <= chk_sd;
          else
            c_ndrain <= unsigned(reg_num_samples);
          end if;
          gamma <= reg_step_size;
          epoch <= (others => '0');
          phase <= PH_A;
          wc <= (others => '0');
          m_idx <= (others => '0');
          chk_cnt <= (others => '0');
          sd_left <= chk_sd;
          wr_block <= '0';
          cnt <= (others => '0');
          if reg_mode(C_MODE_KEEP_MODEL_LSB) = '1' then
            state <= S_PREP;
          else
            state <= S_CLEAR;
          end if;
        end if;
      end if;

      ---------------------------------------------------------------- resets
      if rst = '1' or ctrl_soft_reset = '1' or ctrl_abort = '1' then
        state <= S_IDLE;
        busy <= '0';
        f_wr <= (others => '0');
        f_rd <= (others => '0');
        sq_wr <= (others => '0');
        sq_rd <= (others => '0');
        sq_count <= (others => '0');
        of_cnt <= (others => '0');
        of_rp <= (others => '0');
        of_wp <= (others => '0');
        o_rv1 <= '0';
        o_rv2 <= '0';
        out_busy <= '0';
        wr_block <= '0';
        if ctrl_abort = '1' and rst = '0' and ctrl_soft_reset = '0' then
          done <= '1';
          err <= std_logic_vector(to_unsigned(C_ERR_ABORTED, 8));
        else
          done <= '0';
          sat <= '0';
          err <= (others => '0');
          err_info <= (others => '0');
          staleness <= (others => '0');
          epoch_count <= (others => '0');
          sample_count <= (others => '0');
          cycles <= (others => '0');
          words <= (others => '0');
        end if;
      end if;
      -- START also restarts the pointers (nothing is in flight when idle)
      if ctrl_start = '1' and state = S_IDLE and busy = '0' then
        f_wr <= (others => '0');
        f_rd <= (others => '0');
        sq_wr <= (others => '0');
        sq_rd <= (others => '0');
        sq_count <= (others => '0');
      end if;
    end if;
  end process;

  st_busy         <= busy;
  st_done         <= done;
  st_sat          <= sat;
  st_error        <= err;
  st_staleness    <= std_logic_vector(staleness);
  st_epoch_count  <= std_logic_vector(epoch_count);
  st_sample_count <= std_logic_vector(sample_count);
  st_error_info   <= std_logic_vector(err_info);
  st_cycles       <= std_logic_vector(cycles);
  st_words        <= std_logic_vector(words);

end architecture rtl;
