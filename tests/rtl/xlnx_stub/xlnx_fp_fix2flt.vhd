-------------------------------------------------------------------------------------------------
-- SIMULATION-ONLY STAND-IN for the Xilinx Floating-Point Operator core xlnx_fp_fix2flt (tests
-- only; never in RTL/manifest.txt, never synthesised). It has the ports of the component in
-- RTL/fp/zipml_fp_pkg.vhd and its latency C_XLNX_FP_FIX2FLT_LATENCY, and computes with the
-- portable unit, unchanged. It lets the cocotb benches exercise the G_FP_XILINX = true glue
-- logic of the wrapper zipml_fp_fix2flt (latency alignment); it says nothing about the real
-- core.
-------------------------------------------------------------------------------------------------
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

use work.zipml_fp_pkg.all;

entity xlnx_fp_fix2flt is
  port (
    aclk                 : in  std_logic;
    s_axis_a_tvalid      : in  std_logic;
    s_axis_a_tdata       : in  std_logic_vector(63 downto 0);
    m_axis_result_tvalid : out std_logic;
    m_axis_result_tdata  : out std_logic_vector(31 downto 0));
end entity;

architecture sim of xlnx_fp_fix2flt is
  constant C_EXTRA : natural := C_XLNX_FP_FIX2FLT_LATENCY - C_PORT_FP_FIX2FLT_LATENCY;
  type t_data is array (0 to C_EXTRA) of std_logic_vector(31 downto 0);
  signal d_valid : std_logic_vector(0 to C_EXTRA) := (others => '0');
  signal d_data  : t_data;
begin
  i_p : entity work.zipml_fp_fix2flt_portable
    port map (aclk => aclk, in_valid => s_axis_a_tvalid, in_a => s_axis_a_tdata,
              out_valid => d_valid(0), out_result => d_data(0));
  p_delay : process (aclk)
  begin
    if rising_edge(aclk) then
      d_valid(1 to C_EXTRA) <= d_valid(0 to C_EXTRA - 1);  -- static slices: one driver per element
      d_data(1 to C_EXTRA) <= d_data(0 to C_EXTRA - 1);  -- static slices: one driver per element
    end if;
  end process;
  m_axis_result_tvalid <= d_valid(C_EXTRA);
  m_axis_result_tdata  <= d_data(C_EXTRA);
end architecture;

-- Binds the wrapper's core instance to this stand-in (GHDL's make only analyses units the
-- top depends on, and a component instance is no dependency).
configuration zipml_fp_fix2flt_xlnx_stub of zipml_fp_fix2flt is
  for rtl
    for g_xilinx
      for i_ip : xlnx_fp_fix2flt
        use entity work.xlnx_fp_fix2flt;
      end for;
    end for;
  end for;
end configuration;

-- Test top: the wrapper with G_FP_XILINX = true, its core bound by the configuration above.
library ieee;
use ieee.std_logic_1164.all;

entity zipml_fp_fix2flt_xlnx_tb is
  port (
    aclk       : in  std_logic;
    in_valid   : in  std_logic;
    in_a       : in  std_logic_vector(63 downto 0);
    out_valid  : out std_logic;
    out_result : out std_logic_vector(31 downto 0));
end entity;

architecture sim of zipml_fp_fix2flt_xlnx_tb is
begin
  i_dut : configuration work.zipml_fp_fix2flt_xlnx_stub
    generic map (G_FP_XILINX => true)
    port map (
      aclk       => aclk,
      in_valid   => in_valid,
      in_a       => in_a,
      out_valid  => out_valid,
      out_result => out_result);
end architecture;
