-------------------------------------------------------------------------------------------------
-- zipml_fp_fix2flt: fix2flt(A, 30): signed 64-bit fixed point (30 fraction bits) to binary32,
-- the engine's fix2flt unit (docs/ENGINE.md 2.3).
--
-- G_FP_XILINX = false: portable VHDL (zipml_fp_fix2flt_portable), exact ENGINE.md numerics.
-- G_FP_XILINX = true : Xilinx Floating-Point Operator v7.1 component xlnx_fp_fix2flt (Vivado build;
--                      configuration documented in zipml_fp_pkg).
-- Latency fp_fix2flt_latency(G_FP_XILINX) cycles; one operation per cycle; results in order; no
-- back-pressure.
-------------------------------------------------------------------------------------------------
library ieee;
use ieee.std_logic_1164.all;

use work.zipml_fp_pkg.all;

entity zipml_fp_fix2flt is
  generic (
    G_FP_XILINX : boolean := false);                  -- true: Xilinx IP, false: portable VHDL
  port (
    aclk       : in  std_logic;                       -- clock, rising edge
    in_valid   : in  std_logic;                       -- an operation enters this cycle
    in_a       : in  std_logic_vector(63 downto 0);   -- signed fixed point A, 30 fraction bits
    out_valid  : out std_logic;                       -- out_result holds a result
    out_result : out std_logic_vector(31 downto 0)); -- binary32 fix2flt(A, 30)
end entity zipml_fp_fix2flt;

architecture rtl of zipml_fp_fix2flt is

begin

  g_portable : if not G_FP_XILINX generate
    i_unit : entity work.zipml_fp_fix2flt_portable
      port map (
        aclk       => aclk,
        in_valid   => in_valid,
        in_a       => in_a,
        out_valid  => out_valid,
        out_result => out_result);
  end generate;

  g_xilinx : if G_FP_XILINX generate
    i_ip : xlnx_fp_fix2flt
      port map (
        aclk                 => aclk,
        s_axis_a_tvalid      => in_valid,
        s_axis_a_tdata       => in_a,
        m_axis_result_tvalid => out_valid,
        m_axis_result_tdata  => out_result);
  end generate;

end architecture rtl;
