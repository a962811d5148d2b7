-------------------------------------------------------------------------------------------------
-- zipml_fp_flt2fix: flt2fix(v): binary32 to Q8.23 with saturation, the engine's flt2fix unit
-- (docs/ENGINE.md 2.3).
--
-- G_FP_XILINX = false: portable VHDL (zipml_fp_flt2fix_portable), exact ENGINE.md numerics.
-- G_FP_XILINX = true : Xilinx Floating-Point Operator v7.1 component xlnx_fp_flt2fix (Vivado
--                      build; configuration and the reading of PG060 in zipml_fp_pkg). The core
--                      gives the in-range RNE conversion; the ENGINE.md values for exceptional
--                      operands (NaN -> 0 without SAT, out of range / infinities -> clamp by sign
--                      with SAT) are produced here from the core's OVERFLOW / INVALID_OP flags
--                      and a classification of the operand delayed alongside the core.
-- Latency fp_flt2fix_latency(G_FP_XILINX) cycles; one operation per cycle; results in order;
-- no back-pressure.
-------------------------------------------------------------------------------------------------
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

use work.zipml_fp_pkg.all;

entity zipml_fp_flt2fix is
  generic (
    G_FP_XILINX : boolean := false);                  -- true: Xilinx IP, false: portable VHDL
  port (
    aclk       : in  std_logic;                       -- clock, rising edge
    in_valid   : in  std_logic;                       -- an operation enters this cycle
    in_a       : in  std_logic_vector(31 downto 0);   -- binary32 operand v
    out_valid  : out std_logic;                       -- out_result / out_sat hold a result
    out_result : out std_logic_vector(31 downto 0);   -- Q8.23 flt2fix(v), two's complement
    out_sat    : out std_logic);                      -- 1: the result was clamped (incl. inf)
end entity zipml_fp_flt2fix;

architecture rtl of zipml_fp_flt2fix is
begin

  g_portable : if not G_FP_XILINX generate
    i_unit : entity work.zipml_fp_flt2fix_portable
      port map (
        aclk       => aclk,
        in_valid   => in_valid,
        in_a       => in_a,
        out_valid  => out_valid,
        out_result => out_result,
        out_sat    => out_sat);
  end generate;

  g_xilinx : if G_FP_XILINX generate
    constant C_LAT : natural := C_XLNX_FP_FLT2FIX_LATENCY;
    -- operand class delayed by the core latency: index C_LAT-1 is aligned with the core output
    signal d_nan  : std_logic_vector(0 to C_LAT - 1) := (others => '0');
    signal d_oor  : std_logic_vector(0 to C_LAT - 1) := (others => '0');
    signal d_sign : std_logic_vector(0 to C_LAT - 1) := (others => '0');
    signal xl_data : std_logic_vector(31 downto 0);
    signal xl_user : std_logic_vector(1 downto 0);
    signal cur_exc : std_logic;
  begin
    i_ip : xlnx_fp_flt2fix
      port map (
        aclk                 => aclk,
        s_axis_a_tvalid      => in_valid,
        s_axis_a_tdata       => in_a,
        m_axis_result_tvalid => out_valid,
        m_axis_result_tdata  => xl_data,
        m_axis_result_tuser  => xl_user);

    p_class : process (aclk)
      variable v_e : unsigned(7 downto 0);
      variable v_f : unsigned(22 downto 0);
    begin
      if rising_edge(aclk) then
        v_e := unsigned(in_a(30 downto 23));
        v_f := unsigned(in_a(22 downto 0));
        -- NaN
        d_nan(0) <= '1' when v_e = 255 and v_f /= 0 else '0';
        -- saturating: v >= 256, v < -256, +-inf (NaN masked by d_nan below)
        d_oor(0) <= '1' when v_e > 135 or (v_e = 135 and (in_a(31) = '0' or v_f /= 0)) else '0';
        d_sign(0) <= in_a(31);
        if C_LAT > 1 then
          d_nan(1 to C_LAT - 1)  <= d_nan(0 to C_LAT - 2);
          d_oor(1 to C_LAT - 1)  <= d_oor(0 to C_LAT - 2);
          d_sign(1 to C_LAT - 1) <= d_sign(0 to C_LAT - 2);
        end if;
      end if;
    end process;

    -- exceptional when the core flags OVERFLOW or INVALID_OP (either bit, so the flag order in
    -- tuser does not matter) or the operand itself is out of range
    cur_exc <= '1' when xl_user /= "00" or d_oor(C_LAT - 1) = '1' else '0';

    out_result <= (others => '0')  when d_nan(C_LAT - 1) = '1' else
                  x"80000000"      when cur_exc = '1' and d_sign(C_LAT - 1) = '1' else
                  x"7FFFFFFF"      when cur_exc = '1' else
                  xl_data;
    out_sat    <= cur_exc and not d_nan(C_LAT - 1);
  end generate;

end architecture rtl;
