# Package the ZipML engine (RTL/manifest.txt, flow=vivado, one precision) as a Vivado IP with the
# VLNV of zipml/spec.py. Sourced by build_hw.tcl; defines procs only.
#
# The packaged IP holds the VHDL files of one precision (the manifest selects files per
# precision), the floating-point operator IP of xlnx_ip/ as sub-cores, and the parameters
# G_BITS (fixed to that precision), G_MAX_DIM and G_FP_XILINX (true, not editable).

# Bring the Xilinx floating-point operators into the current project: by default the .xci files
# of xlnx_ip/ (imported, i.e. copied into the project, and upgraded when this Vivado is newer than
# the one they were written for); with --recreate-ip, create_ip + set_property from the same table
# (xlnx_ip/ip_table.tcl), for Vivado versions that cannot read the .xci files.
proc zipml_hw::add_xlnx_ip {opts} {
    set table [xlnx_ip_table]
    foreach name [dict keys $table] {
        set entry [dict get $table $name]
        if {[dict get $opts recreate_ip]} {
            lassign [split [dict get $entry vlnv] :] vendor library ipname version
            create_ip -vendor $vendor -library $library -name $ipname -version $version \
                -module_name $name
            set_property -dict [dict get $entry config] [get_ips $name]
        } else {
            set xci [xci_path $name]
            if {![file exists $xci]} {
                fail "$xci is missing (python scripts/gen_xci.py writes it)"
            }
            import_ip $xci
            if {[get_property IS_LOCKED [get_ips $name]]} {
                puts "zipml build: upgrading $name to this Vivado's floating_point version"
                upgrade_ip [get_ips $name]
            }
        }
    }
}

# Package the engine of precision `bits` into <out>/ip_repo; returns that folder.
proc zipml_hw::package_ip {opts} {
    variable PART
    set bits [dict get $opts bits]
    set out [dict get $opts out]
    set proj_dir [file join $out ip_project]
    set repo [file join $out ip_repo]
    file delete -force $repo
    file mkdir $repo

    create_project -force zipml_ip $proj_dir -part $PART
    set_property target_language VHDL [current_project]
    set files [manifest_files $bits vivado]
    if {[llength $files] == 0} {
        fail "RTL/manifest.txt lists no file for bits=$bits, flow=vivado"
    }
    add_files -norecurse $files
    set_property file_type {VHDL 2008} [get_files $files]
    add_xlnx_ip $opts
    set_property top $zipml_spec::TOP_ENTITY [current_fileset]
    set_property generic "G_BITS=$bits G_FP_XILINX=true" [current_fileset]
    update_compile_order -fileset sources_1

    ipx::package_project -root_dir $repo -vendor $zipml_spec::VLNV_VENDOR \
        -library $zipml_spec::VLNV_LIBRARY -taxonomy /UserIP -import_files -set_current true
    set core [ipx::current_core]
    set_property name $zipml_spec::VLNV_NAME $core
    set_property version $zipml_spec::VLNV_VERSION $core
    set_property display_name "ZipML SGD engine" $core
    set_property description \
        "SGD training of linear models (docs/ENGINE.md), packaged for bits=$bits" $core

    # The packager infers the AXI interfaces from the port prefixes (docs/ENGINE.md section 9);
    # stop if it did not, rather than produce an IP the block design cannot connect.
    foreach busif {s_axis m_axis s_axi aclk aresetn} {
        if {[llength [ipx::get_bus_interfaces $busif -of_objects $core]] == 0} {
            fail "the IP packager did not infer the interface '$busif' of\
                $zipml_spec::TOP_ENTITY (check the port names against docs/ENGINE.md section 9)"
        }
    }
    ipx::associate_bus_interfaces -busif s_axis -clock aclk $core
    ipx::associate_bus_interfaces -busif m_axis -clock aclk $core
    ipx::associate_bus_interfaces -busif s_axi -clock aclk $core
    ipx::associate_bus_interfaces -clock aclk -reset aresetn $core
    set rst [ipx::get_bus_interfaces aresetn -of_objects $core]
    set pol [ipx::get_bus_parameters POLARITY -of_objects $rst]
    if {[llength $pol] == 0} {
        set pol [ipx::add_bus_parameter POLARITY $rst]
    }
    set_property value ACTIVE_LOW $pol

    # Parameters: G_BITS fixed to the packaged precision, G_MAX_DIM a user choice up to the
    # accumulator bound, G_FP_XILINX true (this flow synthesises the Xilinx operators).
    set p [ipx::get_user_parameters G_BITS -of_objects $core]
    set_property value $bits $p
    set_property value_validation_type list $p
    set_property value_validation_list $bits $p
    set_property value $bits [ipx::get_hdl_parameters G_BITS -of_objects $core]
    set p [ipx::get_user_parameters G_MAX_DIM -of_objects $core]
    set_property value $zipml_spec::DEFAULT_MAX_DIM $p
    set_property value_validation_type range_long $p
    set_property value_validation_range_minimum 64 $p
    set_property value_validation_range_maximum $zipml_spec::MAX_DIM_LIMIT $p
    set p [ipx::get_user_parameters G_FP_XILINX -of_objects $core]
    set_property value true $p
    set_property enablement_value false $p
    set_property value true [ipx::get_hdl_parameters G_FP_XILINX -of_objects $core]

    ipx::create_xgui_files $core
    ipx::update_checksums $core
    ipx::check_integrity $core
    ipx::save_core $core
    close_project
    return $repo
}
