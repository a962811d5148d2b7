---------------------------------------------------------------------------------------------------
-- ZipML-PYNQ SGD engine: delay line
---------------------------------------------------------------------------------------------------
-- Description
--   Delays a vector by G_DEPTH clock cycles (G_DEPTH = 0: a wire). The synchronous reset clears
--   every stage; tie it to '0' for data that needs no reset (lets the tools use SRLs).
--
-- Generics
--   G_WIDTH : bits.  G_DEPTH : cycles.
---------------------------------------------------------------------------------------------------

library ieee;
use ieee.std_logic_1164.all;

entity zipml_delay is
  generic (
    G_WIDTH : positive;
    G_DEPTH : natural
  );
  port (
    clk  : in  std_logic;
    rst  : in  std_logic;                                  -- synchronous, clears all stages
    din  : in  std_logic_vector(G_WIDTH - 1 downto 0);
    dout : out std_logic_vector(G_WIDTH - 1 downto 0)      -- din delayed by G_DEPTH cycles
  );
end entity zipml_delay;

architecture rtl of zipml_delay is
  type t_line is array (0 to G_DEPTH) of std_logic_vector(G_WIDTH - 1 downto 0);
  signal line : t_line := (others => (others => '0'));
begin
  line(0) <= din;
  g_reg : if G_DEPTH > 0 generate
    process (clk)
    begin
      if rising_edge(clk) then
        if rst = '1' then
          line(1 to G_DEPTH) <= (others => (others => '0'));
        else
          line(1 to G_DEPTH) <= line(0 to G_DEPTH - 1);
        end if;
      end if;
    end process;
  end generate;
  dout <= line(G_DEPTH);
end architecture rtl;
