# The PYNQ block design of the ZipML overlay. Sourced by build_hw.tcl; defines procs only.
#
#   PS7 GP0 --> axi_interconnect --> engine s_axi (registers)
#                                \-> AXI DMA S_AXI_LITE
#   AXI DMA M_AXIS_MM2S (64 bit) --> engine s_axis      (samples)
#   engine m_axis (32 bit)       --> AXI DMA S_AXIS_S2MM (models)
#   AXI DMA M_AXI_MM2S, M_AXI_S2MM --> smartconnect --> PS7 S_AXI_HP0 (DDR)
#   AXI DMA interrupts --> xlconcat --> PS7 IRQ_F2P
#   PS7 FCLK_CLK0 (--clock MHz) clocks everything; proc_sys_reset from FCLK_RESET0_N.

# PS7 settings applied on top of the board preset, or alone when the board files are missing.
# Only FCLK0, GP0, HP0 and the interrupt matter to the overlay: on PYNQ the PS is configured at
# boot, the bitstream carries the PL only and pynq sets FCLK0 from the .hwh.
proc zipml_hw::ps7_overlay_config {clock} {
    return [list \
        CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ $clock \
        CONFIG.PCW_EN_CLK0_PORT 1 \
        CONFIG.PCW_EN_RST0_PORT 1 \
        CONFIG.PCW_USE_M_AXI_GP0 1 \
        CONFIG.PCW_USE_S_AXI_HP0 1 \
        CONFIG.PCW_S_AXI_HP0_DATA_WIDTH 64 \
        CONFIG.PCW_USE_FABRIC_INTERRUPT 1 \
        CONFIG.PCW_IRQ_F2P_INTR 1]
}

# Key settings of the PYNQ-Z1/Z2 preset, used only without the board files: 50 MHz PS clock,
# 650 MHz CPU (speed grade -1), 512 MB DDR3 on a 16-bit bus. Board-specific DDR trace delays
# and MIO peripherals are left at Vivado's defaults (they are not part of the bitstream).
proc zipml_hw::ps7_fallback_preset {} {
    return [list \
        CONFIG.PCW_CRYSTAL_PERIPHERAL_FREQMHZ 50 \
        CONFIG.PCW_APU_PERIPHERAL_FREQMHZ 650 \
        CONFIG.PCW_UIPARAM_DDR_PARTNO {MT41K256M16 RE-125} \
        CONFIG.PCW_UIPARAM_DDR_BUS_WIDTH {16 Bit} \
        CONFIG.PCW_PRESET_BANK1_VOLTAGE {LVCMOS 1.8V}]
}

# AXI DMA in simple (register) mode: 64-bit MM2S stream into the engine, 32-bit S2MM stream
# from it, buffer length register of DMA_LENGTH_WIDTH bits.
proc zipml_hw::dma_config {} {
    return [list \
        CONFIG.c_include_sg 0 \
        CONFIG.c_sg_include_stscntrl_strm 0 \
        CONFIG.c_sg_length_width $zipml_spec::DMA_LENGTH_WIDTH \
        CONFIG.c_include_mm2s 1 \
        CONFIG.c_include_s2mm 1 \
        CONFIG.c_m_axi_mm2s_data_width 64 \
        CONFIG.c_m_axis_mm2s_tdata_width $zipml_spec::IN_WIDTH \
        CONFIG.c_mm2s_burst_size 64 \
        CONFIG.c_m_axi_s2mm_data_width 32 \
        CONFIG.c_s_axis_s2mm_tdata_width $zipml_spec::OUT_WIDTH \
        CONFIG.c_s2mm_burst_size 16 \
        CONFIG.c_include_mm2s_dre 0 \
        CONFIG.c_include_s2mm_dre 0]
}

# Build the block design `zipml` in the current project; returns a dict with the bd file, the
# board part used (or "") and the FCLK0 frequency Vivado will actually produce.
proc zipml_hw::build_bd {opts board_part} {
    set bits [dict get $opts bits]
    set clock [dict get $opts clock]
    set bd_name zipml
    create_bd_design $bd_name

    # Processing system: board preset via the automation rule, then the overlay's settings.
    set ps7 [create_bd_cell -type ip -vlnv [ipdef processing_system7] ps7]
    set preset [expr {$board_part ne "" ? 1 : 0}]
    apply_bd_automation -rule xilinx.com:bd_rule:processing_system7 \
        -config [list make_external "FIXED_IO, DDR" apply_board_preset $preset \
            Master Disable Slave Disable] $ps7
    if {!$preset} {
        set_property -dict [ps7_fallback_preset] $ps7
    }
    set_property -dict [ps7_overlay_config $clock] $ps7

    set engine [create_bd_cell -type ip -vlnv $zipml_spec::VLNV engine]
    set_property -dict [list CONFIG.G_BITS $bits CONFIG.G_MAX_DIM $zipml_spec::DEFAULT_MAX_DIM] \
        $engine
    set dma [create_bd_cell -type ip -vlnv [ipdef axi_dma] dma]
    set_property -dict [dma_config] $dma
    set ctrl [create_bd_cell -type ip -vlnv [ipdef axi_interconnect] ctrl_ic]
    set_property -dict [list CONFIG.NUM_SI 1 CONFIG.NUM_MI 2] $ctrl
    set mem [create_bd_cell -type ip -vlnv [ipdef smartconnect] mem_sc]
    set_property -dict [list CONFIG.NUM_SI 2 CONFIG.NUM_MI 1] $mem
    set rst [create_bd_cell -type ip -vlnv [ipdef proc_sys_reset] rst]
    set irq [create_bd_cell -type ip -vlnv [ipdef xlconcat] irq_concat]
    set_property -dict [list CONFIG.NUM_PORTS 2] $irq

    # Streams and memory-mapped buses.
    connect_bd_intf_net [get_bd_intf_pins dma/M_AXIS_MM2S] [get_bd_intf_pins engine/s_axis]
    connect_bd_intf_net [get_bd_intf_pins engine/m_axis] [get_bd_intf_pins dma/S_AXIS_S2MM]
    connect_bd_intf_net [get_bd_intf_pins ps7/M_AXI_GP0] [get_bd_intf_pins ctrl_ic/S00_AXI]
    connect_bd_intf_net [get_bd_intf_pins ctrl_ic/M00_AXI] [get_bd_intf_pins engine/s_axi]
    connect_bd_intf_net [get_bd_intf_pins ctrl_ic/M01_AXI] [get_bd_intf_pins dma/S_AXI_LITE]
    connect_bd_intf_net [get_bd_intf_pins dma/M_AXI_MM2S] [get_bd_intf_pins mem_sc/S00_AXI]
    connect_bd_intf_net [get_bd_intf_pins dma/M_AXI_S2MM] [get_bd_intf_pins mem_sc/S01_AXI]
    connect_bd_intf_net [get_bd_intf_pins mem_sc/M00_AXI] [get_bd_intf_pins ps7/S_AXI_HP0]

    # One clock (FCLK0) for everything.
    connect_bd_net [get_bd_pins ps7/FCLK_CLK0] \
        [get_bd_pins ps7/M_AXI_GP0_ACLK] [get_bd_pins ps7/S_AXI_HP0_ACLK] \
        [get_bd_pins engine/aclk] \
        [get_bd_pins dma/s_axi_lite_aclk] [get_bd_pins dma/m_axi_mm2s_aclk] \
        [get_bd_pins dma/m_axi_s2mm_aclk] \
        [get_bd_pins ctrl_ic/ACLK] [get_bd_pins ctrl_ic/S00_ACLK] \
        [get_bd_pins ctrl_ic/M00_ACLK] [get_bd_pins ctrl_ic/M01_ACLK] \
        [get_bd_pins mem_sc/aclk] [get_bd_pins rst/slowest_sync_clk]

    # Resets: the PS's FCLK_RESET0_N through proc_sys_reset.
    connect_bd_net [get_bd_pins ps7/FCLK_RESET0_N] [get_bd_pins rst/ext_reset_in]
    connect_bd_net [get_bd_pins rst/interconnect_aresetn] [get_bd_pins ctrl_ic/ARESETN]
    connect_bd_net [get_bd_pins rst/peripheral_aresetn] \
        [get_bd_pins engine/aresetn] [get_bd_pins dma/axi_resetn] \
        [get_bd_pins ctrl_ic/S00_ARESETN] [get_bd_pins ctrl_ic/M00_ARESETN] \
        [get_bd_pins ctrl_ic/M01_ARESETN] [get_bd_pins mem_sc/aresetn]

    # DMA interrupts to the PS (pynq's DMA driver waits on them).
    connect_bd_net [get_bd_pins dma/mm2s_introut] [get_bd_pins irq_concat/In0]
    connect_bd_net [get_bd_pins dma/s2mm_introut] [get_bd_pins irq_concat/In1]
    connect_bd_net [get_bd_pins irq_concat/dout] [get_bd_pins ps7/IRQ_F2P]

    assign_bd_address
    validate_bd_design
    save_bd_design
    set actual [get_property CONFIG.PCW_ACT_FPGA0_PERIPHERAL_FREQMHZ $ps7]
    return [dict create bd_file [get_files $bd_name.bd] board_part $board_part \
        fclk0_mhz $actual]
}
