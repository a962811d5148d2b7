-------------------------------------------------------------------------------------------------
-- SIMULATION-ONLY STAND-IN for the Xilinx Floating-Point Operator core xlnx_fp_mul (tests only;
-- never in RTL/manifest.txt, never synthesised). It has the ports of the component in
-- RTL/fp/zipml_fp_pkg.vhd and its latency C_XLNX_FP_MUL_LATENCY, and computes with the portable
-- unit, but emits NaN results as 0xFFC00001. It lets the cocotb benches exercise the G_FP_XILINX
-- = true glue logic of the wrapper zipml_fp_mul (latency alignment, NaN made canonical); it says
-- nothing about the real core.
-------------------------------------------------------------------------------------------------
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

use work.zipml_fp_pkg.all;

entity xlnx_fp_mul is
  port (
    aclk                 : in  std_logic;
    s_axis_a_tvalid      : in  std_logic;
    s_axis_a_tdata       : in  std_logic_vector(31 downto 0);
    s_axis_b_tvalid      : in  std_logic;
    s_axis_b_tdata       : in  std_logic_vector(31 downto 0);
    m_axis_result_tvalid : out std_logic;
    m_axis_result_tdata  : out std_logic_vector(31 downto 0));
end entity;

architecture sim of xlnx_fp_mul is
  constant C_EXTRA : natural := C_XLNX_FP_MUL_LATENCY - C_PORT_FP_MUL_LATENCY;
  type t_data is array (0 to C_EXTRA) of std_logic_vector(31 downto 0);
  signal p_valid : std_logic;
  signal p_data  : std_logic_vector(31 downto 0);
  signal d_valid : std_logic_vector(0 to C_EXTRA) := (others => '0');
  signal d_data  : t_data;
  signal v_in    : std_logic;
begin
  v_in <= s_axis_a_tvalid and s_axis_b_tvalid;
  i_p : entity work.zipml_fp_mul_portable
    port map (aclk => aclk, in_valid => v_in, in_a => s_axis_a_tdata, in_b => s_axis_b_tdata,
              out_valid => p_valid, out_result => p_data);
  d_valid(0) <= p_valid;
  -- a NaN with another encoding than 0x7FC00000: the wrapper must make it canonical
  d_data(0)  <= x"FFC00001" when p_data = x"7FC00000" else p_data;
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
configuration zipml_fp_mul_xlnx_stub of zipml_fp_mul is
  for rtl
    for g_xilinx
      for i_ip : xlnx_fp_mul
        use entity work.xlnx_fp_mul;
      end for;
    end for;
  end for;
end configuration;

-- Test top: the wrapper with G_FP_XILINX = true, its core bound by the configuration above.
library ieee;
use ieee.std_logic_1164.all;

entity zipml_fp_mul_xlnx_tb is
  port (
    aclk       : in  std_logic;
    in_valid   : in  std_logic;
    in_a       : in  std_logic_vector(31 downto 0);
    in_b       : in  std_logic_vector(31 downto 0);
    out_valid  : out std_logic;
    out_result : out std_logic_vector(31 downto 0));
end entity;

architecture sim of zipml_fp_mul_xlnx_tb is
begin
  i_dut : configuration work.zipml_fp_mul_xlnx_stub
    generic map (G_FP_XILINX => true)
    port map (
      aclk       => aclk,
      in_valid   => in_valid,
      in_a       => in_a,
      in_b       => in_b,
      out_valid  => out_valid,
      out_result => out_result);
end architecture;
