# Re-create the floating-point operator IP of xlnx_ip/ with this Vivado's create_ip, from the
# table xlnx_ip/ip_table.tcl (generated with the .xci files by python scripts/gen_xci.py from
# RTL/fp/zipml_fp_pkg.vhd). Use it when your Vivado cannot read or upgrade the checked-in .xci:
#
#   vivado -mode batch -source scripts/create_xlnx_ip.tcl -tclargs [OUT_DIR]
#
# writes OUT_DIR/<name>/<name>.xci (default OUT_DIR: build/xlnx_ip; give xlnx_ip to replace the
# checked-in files). make_hw --recreate-ip does the same inside the build project instead.

source [file join [file dirname [file normalize [info script]]] zipml_hw_lib.tcl]

proc zipml_hw::create_xlnx_ip_files {out_dir} {
    variable PART
    file mkdir $out_dir
    create_project -in_memory -part $PART
    set table [xlnx_ip_table]
    foreach name [dict keys $table] {
        set entry [dict get $table $name]
        lassign [split [dict get $entry vlnv] :] vendor library ipname version
        file delete -force [file join $out_dir $name]
        create_ip -vendor $vendor -library $library -name $ipname -version $version \
            -module_name $name -dir $out_dir
        set_property -dict [dict get $entry config] [get_ips $name]
        puts "zipml build: wrote [file join $out_dir $name $name.xci]"
    }
    close_project
}

if {[llength $::argv] > 1 || [string match -* [lindex $::argv 0]]} {
    zipml_hw::fail "usage: create_xlnx_ip.tcl \[OUT_DIR\], got '$::argv'"
}
set _out [lindex $::argv 0]
if {$_out eq ""} {
    set _out [file join $zipml_hw::ROOT build xlnx_ip]
}
zipml_hw::create_xlnx_ip_files [file normalize $_out]
