-------------------------------------------------------------------------------------------------
-- zipml_fp_pkg: latencies of the float32 scalar units and the Xilinx IP components they wrap.
--
-- The engine's scalar stage uses four units (docs/ENGINE.md 2.2 / 2.3):
--   zipml_fp_add      fadd(a, b)        binary32 x binary32 -> binary32
--   zipml_fp_mul      fmul(a, b)        binary32 x binary32 -> binary32
--   zipml_fp_fix2flt  fix2flt(A, 30)    signed 64-bit fixed point, 30 fraction bits -> binary32
--   zipml_fp_flt2fix  flt2fix(v)        binary32 -> Q8.23 (32-bit two's complement) + SAT flag
-- Each wrapper has a generic G_FP_XILINX: false selects the portable VHDL implementation
-- (zipml_fp_*_portable, exact ENGINE.md numerics), true instantiates the Xilinx Floating-Point
-- Operator v7.1 component declared below (Vivado build only; no entity in this repository).
--
-- All units: one operation may enter every cycle (in_valid), results come out in order exactly
-- fp_*_latency(G_FP_XILINX) cycles later (out_valid); no back-pressure, no reset.
--
-- THIS PACKAGE IS THE SINGLE SOURCE of the Xilinx IP configuration: the .xci files
-- (xlnx_ip/xlnx_fp_*.xci) must be generated with exactly the parameters documented at each
-- component below, and C_XLNX_FP_*_LATENCY must equal the CONFIG.C_Latency of the .xci.
--
-- Common configuration of all four Floating-Point Operator v7.1 (floating_point:7.1) cores:
--   CONFIG.Flow_Control        = NonBlocking     (no TREADY anywhere)
--   CONFIG.Has_RESULT_TREADY   = false
--   CONFIG.Maximum_Latency     = false           (CONFIG.C_Latency = the constant below)
--   CONFIG.C_Rate              = 1               (one operation per cycle)
--   CONFIG.Has_ACLKEN          = false
--   CONFIG.Has_ARESETn         = false
--   CONFIG.Has_A_TLAST         = false
--   CONFIG.Has_A_TUSER         = false
--   CONFIG.Has_B_TLAST         = false           (add / mul only have a B channel)
--   CONFIG.Has_B_TUSER         = false
--   CONFIG.C_Optimization      = Speed_Optimized
--   exception flag outputs, unless a component below overrides them:
--   CONFIG.C_Has_UNDERFLOW     = false
--   CONFIG.C_Has_OVERFLOW      = false
--   CONFIG.C_Has_INVALID_OP    = false
--   CONFIG.C_Has_DIVIDE_BY_ZERO = false
--   no subnormal (denormal) support: the v7.1 core has none for these operations; it treats
--   subnormal operands as zero and flushes tiny results (ENGINE.md 2.2 relies on this).
--   Rounding is always round-to-nearest-even (not a parameter of the core).
-------------------------------------------------------------------------------------------------
library ieee;
use ieee.std_logic_1164.all;

package zipml_fp_pkg is

  -----------------------------------------------------------------------------------------------
  -- Latency (cycles from in_valid to out_valid) of the Xilinx cores = CONFIG.C_Latency.
  -- Chosen well below the cores' maximum latency; at 100 MHz on a Zynq-7020 (-1) these meet
  -- timing with margin.
  -----------------------------------------------------------------------------------------------
  constant C_XLNX_FP_ADD_LATENCY     : natural := 8;
  constant C_XLNX_FP_MUL_LATENCY     : natural := 6;
  constant C_XLNX_FP_FIX2FLT_LATENCY : natural := 5;
  constant C_XLNX_FP_FLT2FIX_LATENCY : natural := 5;

  -- Latency of the portable implementations (pipeline stages, see each entity's header).
  constant C_PORT_FP_ADD_LATENCY     : natural := 6;
  constant C_PORT_FP_MUL_LATENCY     : natural := 5;
  constant C_PORT_FP_FIX2FLT_LATENCY : natural := 4;
  constant C_PORT_FP_FLT2FIX_LATENCY : natural := 3;

  -- Fixed-point formats of the conversions.
  constant C_FIX2FLT_IN_WIDTH   : natural := 64;  -- signed input A of fix2flt
  constant C_FIX2FLT_IN_FRAC    : natural := 30;  -- fraction bits of A (ENGINE.md fix2flt(A, 30))
  constant C_FLT2FIX_OUT_WIDTH  : natural := 32;  -- Q8.23 result of flt2fix
  constant C_FLT2FIX_OUT_FRAC   : natural := 23;

  -- Latency of the wrapper zipml_fp_<op> (the wrappers add no register to the Xilinx cores).
  function fp_add_latency(xilinx : boolean) return natural;
  function fp_mul_latency(xilinx : boolean) return natural;
  function fp_fix2flt_latency(xilinx : boolean) return natural;
  function fp_flt2fix_latency(xilinx : boolean) return natural;

  -- The canonical NaN of ENGINE.md 2.2.
  constant C_FP_QNAN : std_logic_vector(31 downto 0) := x"7FC00000";

  -----------------------------------------------------------------------------------------------
  -- xlnx_fp_add: Floating-Point Operator v7.1, component name xlnx_fp_add
  --   CONFIG.Operation_Type        = Add_Subtract
  --   CONFIG.Add_Sub_Value         = Add            (fixed add, no s_axis_operation channel)
  --   CONFIG.A_Precision_Type      = Single         (exponent 8, fraction 24 incl. hidden bit)
  --   CONFIG.Result_Precision_Type = Single
  --   CONFIG.C_Mult_Usage          = No_Usage       (fabric adder, no DSP48)
  --   CONFIG.C_Latency             = C_XLNX_FP_ADD_LATENCY (8)
  --   exception flags: none (no m_axis_result_tuser)
  -----------------------------------------------------------------------------------------------
  component xlnx_fp_add is
    port (
      aclk                 : in  std_logic;
      s_axis_a_tvalid      : in  std_logic;
      s_axis_a_tdata       : in  std_logic_vector(31 downto 0);
      s_axis_b_tvalid      : in  std_logic;
      s_axis_b_tdata       : in  std_logic_vector(31 downto 0);
      m_axis_result_tvalid : out std_logic;
      m_axis_result_tdata  : out std_logic_vector(31 downto 0));
  end component;

  -----------------------------------------------------------------------------------------------
  -- xlnx_fp_mul: Floating-Point Operator v7.1, component name xlnx_fp_mul
  --   CONFIG.Operation_Type        = Multiply
  --   CONFIG.A_Precision_Type      = Single
  --   CONFIG.Result_Precision_Type = Single
  --   CONFIG.C_Mult_Usage          = Full_Usage     (DSP48E1 for the significand product)
  --   CONFIG.C_Latency             = C_XLNX_FP_MUL_LATENCY (6)
  --   exception flags: none (no m_axis_result_tuser)
  -----------------------------------------------------------------------------------------------
  component xlnx_fp_mul is
    port (
      aclk                 : in  std_logic;
      s_axis_a_tvalid      : in  std_logic;
      s_axis_a_tdata       : in  std_logic_vector(31 downto 0);
      s_axis_b_tvalid      : in  std_logic;
      s_axis_b_tdata       : in  std_logic_vector(31 downto 0);
      m_axis_result_tvalid : out std_logic;
      m_axis_result_tdata  : out std_logic_vector(31 downto 0));
  end component;

  -----------------------------------------------------------------------------------------------
  -- xlnx_fp_fix2flt: Floating-Point Operator v7.1, component name xlnx_fp_fix2flt
  --   CONFIG.Operation_Type        = Fixed_to_float
  --   CONFIG.A_Precision_Type      = Custom         (signed fixed point, two's complement)
  --     total width 64, integer width 34 (incl. sign), fraction width 30  ("64.30"):
  --     CONFIG.C_A_Exponent_Width  = 34             (for fixed-point inputs this field holds
  --     CONFIG.C_A_Fraction_Width  = 30              the integer width; 34 + 30 = 64)
  --   CONFIG.Result_Precision_Type = Single
  --   CONFIG.C_Latency             = C_XLNX_FP_FIX2FLT_LATENCY (5)
  --   exception flags: none (the conversion is exact-range: |A * 2^-30| < 2^33)
  --   s_axis_a_tdata is 64 bits wide (the core pads fixed-point inputs to a byte multiple: 64).
  -----------------------------------------------------------------------------------------------
  component xlnx_fp_fix2flt is
    port (
      aclk                 : in  std_logic;
      s_axis_a_tvalid      : in  std_logic;
      s_axis_a_tdata       : in  std_logic_vector(63 downto 0);
      m_axis_result_tvalid : out std_logic;
      m_axis_result_tdata  : out std_logic_vector(31 downto 0));
  end component;

  -----------------------------------------------------------------------------------------------
  -- xlnx_fp_flt2fix: Floating-Point Operator v7.1, component name xlnx_fp_flt2fix
  --   CONFIG.Operation_Type        = Float_to_fixed
  --   CONFIG.A_Precision_Type      = Single
  --   CONFIG.Result_Precision_Type = Custom         (signed fixed point, two's complement)
  --     total width 32, integer width 9 (incl. sign), fraction width 23  ("32.23" = Q8.23):
  --     CONFIG.C_Result_Exponent_Width = 9          (integer width for fixed-point results)
  --     CONFIG.C_Result_Fraction_Width = 23
  --   CONFIG.C_Latency             = C_XLNX_FP_FLT2FIX_LATENCY (5)
  --   CONFIG.C_Has_OVERFLOW        = true
  --   CONFIG.C_Has_INVALID_OP      = true
  --   (all other flags false) -> m_axis_result_tuser is 2 bits wide.
  --
  -- Reading of PG060 (Floating-Point Operator v7.1 product guide) for float-to-fixed, from
  -- recollection of the guide, NOT re-checked against its text here (see the last paragraph):
  --   * rounding is round-to-nearest-even, as required by ENGINE.md 2.3;
  --   * an operand whose rounded value does not fit the fixed-point result raises OVERFLOW, a
  --     NaN or infinite operand raises INVALID_OP; the data output in those cases is the core's
  --     own choice (it does not implement ENGINE.md's "+inf/large -> 2^31-1, -inf/large ->
  --     -2^31, NaN -> 0");
  --   * the flags occupy the low bits of m_axis_result_tuser in the order UNDERFLOW, OVERFLOW,
  --     INVALID_OP, DIVIDE_BY_ZERO, counting only the flags that are enabled.
  --   The document search available to this project returned only PG060's table of contents,
  --   not these passages, so the wrapper zipml_fp_flt2fix depends neither on the exact flag
  --   order nor on the core's data output for exceptional operands: it ORs both tuser bits and,
  --   in addition, classifies the operand itself (delayed alongside the core): NaN -> 0 without
  --   SAT; v >= 256, v < -256 or +-inf -> saturate by sign with SAT. In the Q8.23 range every
  --   binary32 of magnitude >= 128 is an exact multiple of 2^-23, so "the rounded result does
  --   not fit" is exactly "v >= 256 or v < -256", a pure test of the operand bits. The only
  --   values taken from the core are therefore in-range RNE conversions.
  -----------------------------------------------------------------------------------------------
  component xlnx_fp_flt2fix is
    port (
      aclk                 : in  std_logic;
      s_axis_a_tvalid      : in  std_logic;
      s_axis_a_tdata       : in  std_logic_vector(31 downto 0);
      m_axis_result_tvalid : out std_logic;
      m_axis_result_tdata  : out std_logic_vector(31 downto 0);
      m_axis_result_tuser  : out std_logic_vector(1 downto 0));
  end component;

end package zipml_fp_pkg;

package body zipml_fp_pkg is

  function fp_add_latency(xilinx : boolean) return natural is
  begin
    if xilinx then
      return C_XLNX_FP_ADD_LATENCY;
    end if;
    return C_PORT_FP_ADD_LATENCY;
  end function;

  function fp_mul_latency(xilinx : boolean) return natural is
  begin
    if xilinx then
      return C_XLNX_FP_MUL_LATENCY;
    end if;
    return C_PORT_FP_MUL_LATENCY;
  end function;

  function fp_fix2flt_latency(xilinx : boolean) return natural is
  begin
    if xilinx then
      return C_XLNX_FP_FIX2FLT_LATENCY;
    end if;
    return C_PORT_FP_FIX2FLT_LATENCY;
  end function;

  function fp_flt2fix_latency(xilinx : boolean) return natural is
  begin
    if xilinx then
      return C_XLNX_FP_FLT2FIX_LATENCY;
    end if;
    return C_PORT_FP_FLT2FIX_LATENCY;
  end function;

end package body zipml_fp_pkg;
