---------------------------------------------------------------------------------------------------
-- ZipML-PYNQ SGD engine: simple dual-port RAM
---------------------------------------------------------------------------------------------------
-- Description
--   One write port and one registered read port on the same clock, inferable as block RAM
--   (or distributed RAM for small sizes). The read port reads every cycle: rd_data holds
--   mem(rd_addr) as it was before a write in the same clock edge (read-first). Contents are
--   zero after configuration (power-on) and are not touched by any reset.
--
-- Generics
--   G_WIDTH : data bits.  G_DEPTH : words.  G_AW : address bits (2**G_AW >= G_DEPTH).
---------------------------------------------------------------------------------------------------

library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

entity zipml_sdp_ram is
  generic (
    G_WIDTH : positive;
    G_DEPTH : positive;
    G_AW    : positive
  );
  port (
    clk     : in  std_logic;
    we      : in  std_logic;                                  -- write enable
    wr_addr : in  unsigned(G_AW - 1 downto 0);
    wr_data : in  std_logic_vector(G_WIDTH - 1 downto 0);
    rd_addr : in  unsigned(G_AW - 1 downto 0);
    rd_data : out std_logic_vector(G_WIDTH - 1 downto 0)      -- mem(rd_addr) one cycle later
  );
end entity zipml_sdp_ram;

architecture rtl of zipml_sdp_ram is
begin
  -- one word: a register (ghdl synth 2.0 stops with "GHDL Bug occurred" in its memory
  -- inference for a RAM of depth 1, e.g. the model banks of a Q1 engine with G_MAX_DIM = 64)
  g_reg : if G_DEPTH = 1 generate
    signal word : std_logic_vector(G_WIDTH - 1 downto 0) := (others => '0');
  begin
    process (clk)
    begin
      if rising_edge(clk) then
        if we = '1' then
          word <= wr_data;
        end if;
        rd_data <= word;
      end if;
    end process;
  end generate;

  g_ram : if G_DEPTH > 1 generate
    type t_mem is array (0 to G_DEPTH - 1) of std_logic_vector(G_WIDTH - 1 downto 0);
    signal mem : t_mem := (others => (others => '0'));
  begin
    process (clk)
    begin
      if rising_edge(clk) then
        if we = '1' then
          mem(to_integer(wr_addr) mod G_DEPTH) <= wr_data;
        end if;
        rd_data <= mem(to_integer(rd_addr) mod G_DEPTH);
      end if;
    end process;
  end generate;
end architecture rtl;
