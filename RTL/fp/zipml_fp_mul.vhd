-------------------------------------------------------------------------------------------------
-- zipml_fp_mul: fmul(a, b) on binary32, the engine's mul unit (docs/ENGINE.md 2.2).
--
-- G_FP_XILINX = false: portable VHDL (zipml_fp_mul_portable), exact ENGINE.md numerics.
-- G_FP_XILINX = true : Xilinx Floating-Point Operator v7.1 component xlnx_fp_mul (Vivado build;
--                      configuration documented in zipml_fp_pkg).
--                      NaN results are made canonical (0x7FC00000) after the core.
-- Latency fp_mul_latency(G_FP_XILINX) cycles; one operation per cycle; results in order; no
-- back-pressure.
-------------------------------------------------------------------------------------------------
library ieee;
use ieee.std_logic_1164.all;

use work.zipml_fp_pkg.all;

entity zipml_fp_mul is
  generic (
    G_FP_XILINX : boolean := false);                  -- true: Xilinx IP, false: portable VHDL
  port (
    aclk       : in  std_logic;                       -- clock, rising edge
    in_valid   : in  std_logic;                       -- an operation enters this cycle
    in_a       : in  std_logic_vector(31 downto 0);   -- binary32 operand a
    in_b       : in  std_logic_vector(31 downto 0);   -- binary32 operand b
    out_valid  : out std_logic;                       -- out_result holds a result
    out_result : out std_logic_vector(31 downto 0)); -- binary32 fmul(a, b)
end entity zipml_fp_mul;

architecture rtl of zipml_fp_mul is

  signal xl_data : std_logic_vector(31 downto 0);

begin

  g_portable : if not G_FP_XILINX generate
    i_unit : entity work.zipml_fp_mul_portable
      port map (
        aclk       => aclk,
        in_valid   => in_valid,
        in_a       => in_a,
        in_b       => in_b,
        out_valid  => out_valid,
        out_result => out_result);
  end generate;

  g_xilinx : if G_FP_XILINX generate
    i_ip : xlnx_fp_mul
      port map (
        aclk                 => aclk,
        s_axis_a_tvalid      => in_valid,
        s_axis_a_tdata       => in_a,
        s_axis_b_tvalid      => in_valid,
        s_axis_b_tdata       => in_b,
        m_axis_result_tvalid => out_valid,
        m_axis_result_tdata  => xl_data);
    -- ENGINE.md 2.2: every NaN result is 0x7FC00000, whatever NaN the core emits
    out_result <= C_FP_QNAN when xl_data(30 downto 23) = "11111111"
                                 and xl_data(22 downto 0) /= (22 downto 0 => '0') else
                  xl_data;
  end generate;

end architecture rtl;
