# The PYNQ block design of the ZipML overlay. Sourced by build_hw.tcl; defines procs only.
#
#   PS7 GP0 --> axi_interconnect --> engine s_axi (registers)
#                                \-> AXI DMA S_AXI_LITE
#   AXI DMA M_AXIS_MM2S (64 bit) --> engine s_axis      (samples)
#   engine m_axis (32 bit)       --> AXI DMA S_AXIS_S2MM (models)
#   AXI DMA M_AXI_MM2S, M_AXI_S2MM --> smartconnect --> PS7 S_AXI_HP0 (DDR)
#   AXI DMA interrupts --> xlconcat --> PS7 IRQ_F2P
#   PS7 FCLK_CLK0 (--clock MHz) clocks everything; proc_sys_reset from FCLK_RESET0_N.

# Cell names, the DMA's configuration, FCLK0 and the address map come from zipml_bd.tcl
# (sourced by zipml_hw_lib.tcl), generated from the block-design description zipml/hw/bd.py; the
# .hwh of the package's simulated board (zipml.hw.simboard) comes from the same description.

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
# from it, buffer length register of DMA_LENGTH_WIDTH bits (zipml_bd::DMA_CONFIG).
proc zipml_hw::dma_config {} {
    set out {}
    dict for {name value} $zipml_bd::DMA_CONFIG {
        lappend out CONFIG.$name $value
    }
    return $out
}

# Fixed addresses on M_AXI_GP0 (zipml_bd::ADDRESS_MAP), after the automatic assignment: the
# .hwh then carries the addresses the package's simulated board and documentation use.
proc zipml_hw::assign_addresses {} {
    set space [get_bd_addr_spaces $zipml_bd::PS7_CELL/Data]
    dict for {cell seg} $zipml_bd::ADDRESS_MAP {
        lassign $seg intf block base range
        assign_bd_address -offset $base -range [expr {$range / 1024}]K \
            -target_address_space $space [get_bd_addr_segs $cell/$intf/$block] -force
    }
}

# Build the block design `zipml` in the current project; returns a dict with the bd file, the
# board part used (or "") and the FCLK0 frequency Vivado will actually produce.
proc zipml_hw::build_bd {opts board_part} {
    set bits [dict get $opts bits]
    set clock [dict get $opts clock]
    set bd_name zipml
    create_bd_design $bd_name

    # Processing system: board preset via the automation rule, then the overlay's settings.
    set p $zipml_bd::PS7_CELL
    set e $zipml_bd::ENGINE_CELL
    set d $zipml_bd::DMA_CELL
    set ps7 [create_bd_cell -type ip -vlnv [ipdef processing_system7] $p]
    set preset [expr {$board_part ne "" ? 1 : 0}]
    apply_bd_automation -rule xilinx.com:bd_rule:processing_system7 \
        -config [list make_external "FIXED_IO, DDR" apply_board_preset $preset \
            Master Disable Slave Disable] $ps7
    if {!$preset} {
        set_property -dict [ps7_fallback_preset] $ps7
    }
    set_property -dict [ps7_overlay_config $clock] $ps7

    set engine [create_bd_cell -type ip -vlnv $zipml_spec::VLNV $e]
    set_property -dict [list CONFIG.G_BITS $bits CONFIG.G_MAX_DIM $zipml_spec::DEFAULT_MAX_DIM] \
        $engine
    set dma [create_bd_cell -type ip -vlnv [ipdef axi_dma] $d]
    set_property -dict [dma_config] $dma
    set ctrl [create_bd_cell -type ip -vlnv [ipdef axi_interconnect] ctrl_ic]
    set_property -dict [list CONFIG.NUM_SI 1 CONFIG.NUM_MI 2] $ctrl
    set mem [create_bd_cell -type ip -vlnv [ipdef smartconnect] mem_sc]
    set_property -dict [list CONFIG.NUM_SI 2 CONFIG.NUM_MI 1] $mem
    set rst [create_bd_cell -type ip -vlnv [ipdef proc_sys_reset] rst]
    set irq [create_bd_cell -type ip -vlnv [ipdef xlconcat] irq_concat]
    set_property -dict [list CONFIG.NUM_PORTS 2] $irq

    # Streams and memory-mapped buses.
    connect_bd_intf_net [get_bd_intf_pins $d/M_AXIS_MM2S] [get_bd_intf_pins $e/s_axis]
    connect_bd_intf_net [get_bd_intf_pins $e/m_axis] [get_bd_intf_pins $d/S_AXIS_S2MM]
    connect_bd_intf_net [get_bd_intf_pins $p/M_AXI_GP0] [get_bd_intf_pins ctrl_ic/S00_AXI]
    connect_bd_intf_net [get_bd_intf_pins ctrl_ic/M00_AXI] [get_bd_intf_pins $e/s_axi]
    connect_bd_intf_net [get_bd_intf_pins ctrl_ic/M01_AXI] [get_bd_intf_pins $d/S_AXI_LITE]
    connect_bd_intf_net [get_bd_intf_pins $d/M_AXI_MM2S] [get_bd_intf_pins mem_sc/S00_AXI]
    connect_bd_intf_net [get_bd_intf_pins $d/M_AXI_S2MM] [get_bd_intf_pins mem_sc/S01_AXI]
    connect_bd_intf_net [get_bd_intf_pins mem_sc/M00_AXI] [get_bd_intf_pins $p/S_AXI_HP0]

    # One clock (FCLK0) for everything.
    connect_bd_net [get_bd_pins $p/FCLK_CLK0] \
        [get_bd_pins $p/M_AXI_GP0_ACLK] [get_bd_pins $p/S_AXI_HP0_ACLK] \
        [get_bd_pins $e/aclk] \
        [get_bd_pins $d/s_axi_lite_aclk] [get_bd_pins $d/m_axi_mm2s_aclk] \
        [get_bd_pins $d/m_axi_s2mm_aclk] \
        [get_bd_pins ctrl_ic/ACLK] [get_bd_pins ctrl_ic/S00_ACLK] \
        [get_bd_pins ctrl_ic/M00_ACLK] [get_bd_pins ctrl_ic/M01_ACLK] \
        [get_bd_pins mem_sc/aclk] [get_bd_pins rst/slowest_sync_clk]

    # Resets: the PS's FCLK_RESET0_N through proc_sys_reset.
    connect_bd_net [get_bd_pins $p/FCLK_RESET0_N] [get_bd_pins rst/ext_reset_in]
    connect_bd_net [get_bd_pins rst/interconnect_aresetn] [get_bd_pins ctrl_ic/ARESETN]
    connect_bd_net [get_bd_pins rst/peripheral_aresetn] \
        [get_bd_pins $e/aresetn] [get_bd_pins $d/axi_resetn] \
        [get_bd_pins ctrl_ic/S00_ARESETN] [get_bd_pins ctrl_ic/M00_ARESETN] \
        [get_bd_pins ctrl_ic/M01_ARESETN] [get_bd_pins mem_sc/aresetn]

    # DMA interrupts to the PS (pynq's DMA driver waits on them).
    connect_bd_net [get_bd_pins $d/mm2s_introut] [get_bd_pins irq_concat/In0]
    connect_bd_net [get_bd_pins $d/s2mm_introut] [get_bd_pins irq_concat/In1]
    connect_bd_net [get_bd_pins irq_concat/dout] [get_bd_pins $p/IRQ_F2P]

    assign_bd_address
    assign_addresses
    validate_bd_design
    save_bd_design
    set actual [get_property CONFIG.PCW_ACT_FPGA0_PERIPHERAL_FREQMHZ $ps7]
    return [dict create bd_file [get_files $bd_name.bd] board_part $board_part \
        fclk0_mhz $actual]
}
