# PYNQ-Z2 (Zynq-7020, xc7z020clg400-1): constraints of the ZipML overlay.
#
# The overlay uses no PL package pin: the engine talks to the PS only (AXI GP0 for registers,
# AXI DMA on HP0 for data), and its only clock is the PS's FCLK_CLK0, whose period constraint the
# processing_system7 IP creates itself. So this file holds bitstream options only; it is kept
# per board so that board I/O (LEDs, buttons) can be added here without touching the flow.

# Compressed bitstream: smaller .bit, faster download through pynq's FPGA manager.
set_property BITSTREAM.GENERAL.COMPRESS TRUE [current_design]
