-- Test design for zipml.timing: two 16-bit registers, their registered sum, and a registered
-- 2:1 select in front of it. Worst path: a or b -> select -> 16-bit adder (four CARRY4) -> r.
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

entity timing_adder is
  port (clk : in std_logic;
        sel : in std_logic;
        x, y : in std_logic_vector(15 downto 0);
        r : out std_logic_vector(15 downto 0));
end entity timing_adder;

architecture rtl of timing_adder is
  signal a, b, s : unsigned(15 downto 0) := (others => '0');
  signal p : std_logic := '0';
begin
  process (clk)
  begin
    if rising_edge(clk) then
      a <= unsigned(x);
      b <= unsigned(y);
      p <= sel;
      if p = '1' then
        s <= a + b;
      else
        s <= a + not b;
      end if;
    end if;
  end process;
  r <= std_logic_vector(s);
end architecture rtl;
