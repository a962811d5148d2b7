library ieee; use ieee.std_logic_1164.all; use ieee.numeric_std.all;
entity pmux_others is port (clk: in std_logic; s: in std_logic_vector(1 downto 0); a,b,c,d: in std_logic_vector(3 downto 0); y: out std_logic_vector(3 downto 0)); end;
architecture rtl of pmux_others is begin
process(clk) begin if rising_edge(clk) then
  case s is
    when "00" => y <= a;
    when "01" => y <= b;
    when others => y <= d;
  end case;
end if; end process;
end;
