-------------------------------------------------------------------------------------------------
-- SIMULATION-ONLY STAND-IN for the Xilinx Floating-Point Operator core xlnx_fp_flt2fix (tests
-- only; never in RTL/manifest.txt, never synthesised). It has the ports of the component in
-- RTL/fp/zipml_fp_pkg.vhd and its latency C_XLNX_FP_FLT2FIX_LATENCY, and computes with the
-- portable unit, but outputs 0xA5A5A5A5 with flags in tuser for exceptional operands. It lets
-- the cocotb benches exercise the G_FP_XILINX = true glue logic of the wrapper zipml_fp_flt2fix
-- (latency alignment, exceptional operands); it says nothing about the real core.
-------------------------------------------------------------------------------------------------
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

use work.zipml_fp_pkg.all;

entity xlnx_fp_flt2fix is
  port (
    aclk                 : in  std_logic;
    s_axis_a_tvalid      : in  std_logic;
    s_axis_a_tdata       : in  std_logic_vector(31 downto 0);
    m_axis_result_tvalid : out std_logic;
    m_axis_result_tdata  : out std_logic_vector(31 downto 0);
    m_axis_result_tuser  : out std_logic_vector(1 downto 0));
end entity;

architecture sim of xlnx_fp_flt2fix is
  constant C_EXTRA : natural := C_XLNX_FP_FLT2FIX_LATENCY - C_PORT_FP_FLT2FIX_LATENCY;
  type t_data is array (0 to C_EXTRA) of std_logic_vector(31 downto 0);
  type t_user is array (0 to C_EXTRA) of std_logic_vector(1 downto 0);
  signal p_valid, p_sat : std_logic;
  signal p_data  : std_logic_vector(31 downto 0);
  signal d_valid : std_logic_vector(0 to C_EXTRA) := (others => '0');
  signal d_data  : t_data;
  signal d_user  : t_user;
  -- operand flags, delayed to the portable unit's output
  signal nan_d   : std_logic_vector(0 to C_PORT_FP_FLT2FIX_LATENCY - 1);
begin
  i_p : entity work.zipml_fp_flt2fix_portable
    port map (aclk => aclk, in_valid => s_axis_a_tvalid, in_a => s_axis_a_tdata,
              out_valid => p_valid, out_result => p_data, out_sat => p_sat);
  p_nan : process (aclk)
  begin
    if rising_edge(aclk) then
      nan_d(0) <= '1' when s_axis_a_tdata(30 downto 23) = x"FF"
                           and s_axis_a_tdata(22 downto 0) /= (22 downto 0 => '0') else '0';
      for i in 1 to nan_d'high loop
        nan_d(i) <= nan_d(i - 1);
      end loop;
    end if;
  end process;
  d_valid(0) <= p_valid;
  -- exceptional operands: a data value unlike ENGINE.md's, flags set (bit 0 overflow on
  -- saturation, bit 1 invalid on NaN), so only the wrapper's override can give the right answer
  d_data(0)  <= x"A5A5A5A5" when p_sat = '1' or nan_d(nan_d'high) = '1' else p_data;
  d_user(0)  <= nan_d(nan_d'high) & p_sat;
  p_delay : process (aclk)
  begin
    if rising_edge(aclk) then
      d_valid(1 to C_EXTRA) <= d_valid(0 to C_EXTRA - 1);  -- static slices: one driver per element
      d_data(1 to C_EXTRA) <= d_data(0 to C_EXTRA - 1);  -- static slices: one driver per element
      d_user(1 to C_EXTRA) <= d_user(0 to C_EXTRA - 1);  -- static slices: one driver per element
    end if;
  end process;
  m_axis_result_tvalid <= d_valid(C_EXTRA);
  m_axis_result_tdata  <= d_data(C_EXTRA);
  m_axis_result_tuser  <= d_user(C_EXTRA);
end architecture;

-- Binds the wrapper's core instance to this stand-in (GHDL's make only analyses units the
-- top depends on, and a component instance is no dependency).
configuration zipml_fp_flt2fix_xlnx_stub of zipml_fp_flt2fix is
  for rtl
    for g_xilinx
      for i_ip : xlnx_fp_flt2fix
        use entity work.xlnx_fp_flt2fix;
      end for;
    end for;
  end for;
end configuration;

-- Test top: the wrapper with G_FP_XILINX = true, its core bound by the configuration above.
library ieee;
use ieee.std_logic_1164.all;

entity zipml_fp_flt2fix_xlnx_tb is
  port (
    aclk       : in  std_logic;
    in_valid   : in  std_logic;
    in_a       : in  std_logic_vector(31 downto 0);
    out_valid  : out std_logic;
    out_result : out std_logic_vector(31 downto 0);
    out_sat    : out std_logic);
end entity;

architecture sim of zipml_fp_flt2fix_xlnx_tb is
begin
  i_dut : configuration work.zipml_fp_flt2fix_xlnx_stub
    generic map (G_FP_XILINX => true)
    port map (
      aclk       => aclk,
      in_valid   => in_valid,
      in_a       => in_a,
      out_valid  => out_valid,
      out_result => out_result,
      out_sat    => out_sat);
end architecture;
