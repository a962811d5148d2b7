# Build the ZipML overlay of one precision: package the engine as IP, build the PYNQ block
# design, synthesise, implement, write the bitstream, report utilisation and timing, and export
# <name>.bit, <name>.hwh and <name>_report.txt (name = zipml.spec.bitstream_name(bits)).
#
#   vivado -mode batch -source scripts/build_hw.tcl -tclargs --bits 4 [--board pynq-z1]
#       [--clock 100] [--jobs 2] [--out DIR] [--export DIR|none] [--recreate-ip]
#       [--allow-timing-violation]
#
# Normally run through ./make_hw. Re-runnable: the projects under --out are recreated.
# Optional: ZIPML_BOARD_REPO=<folder with board files> adds a board repository.

set _zipml_scripts [file dirname [file normalize [info script]]]
source [file join $_zipml_scripts zipml_hw_lib.tcl]
source [file join $_zipml_scripts package_ip.tcl]
source [file join $_zipml_scripts build_bd.tcl]

# Board part of `board` if its board files are installed, else "".
proc zipml_hw::find_board_part {board} {
    variable BOARDS
    if {[info exists ::env(ZIPML_BOARD_REPO)]} {
        set_param board.repoPaths [list [file normalize $::env(ZIPML_BOARD_REPO)]]
    }
    set parts [lsort -dictionary [get_board_parts -quiet [dict get $BOARDS $board pattern]]]
    if {[llength $parts] == 0} {
        puts "zipml build: WARNING: no board files for $board\
            ([dict get $BOARDS $board files]); using the part and the key preset settings\
            (see zipml/bitstreams/README.md)"
        return ""
    }
    return [lindex $parts end]
}

# Worst setup and hold slack of the open implemented design, in ns.
proc zipml_hw::slack {kind} {
    set path [get_timing_paths -max_paths 1 -nworst 1 -$kind]
    return [get_property SLACK $path]
}

proc zipml_hw::read_text {path} {
    set fh [open $path r]
    set text [read $fh]
    close $fh
    return $text
}

proc zipml_hw::write_text {path text} {
    set fh [open $path w]
    puts -nonewline $fh $text
    close $fh
}

proc zipml_hw::main {opts} {
    variable ROOT
    variable PART
    set bits [dict get $opts bits]
    set board [dict get $opts board]
    set out [dict get $opts out]
    set name [bitstream_name $bits]
    file mkdir $out
    puts "zipml build: $name for $board at [dict get $opts clock] MHz in $out"
    # Outputs of an earlier run must not survive a failed one.
    foreach f [list $name.bit $name.hwh ${name}_report.txt utilization.txt timing_summary.txt] {
        file delete -force [file join $out $f]
    }

    set repo [package_ip $opts]

    set proj_dir [file join $out project]
    create_project -force $name $proj_dir -part $PART
    set board_part [find_board_part $board]
    if {$board_part ne ""} {
        set_property board_part $board_part [current_project]
    }
    set_property target_language VHDL [current_project]
    set_property ip_repo_paths [list $repo] [current_project]
    update_ip_catalog -rebuild

    set bd [build_bd $opts $board_part]
    set bd_file [dict get $bd bd_file]
    generate_target all $bd_file
    add_files -norecurse [make_wrapper -files $bd_file -top]
    set_property top zipml_wrapper [current_fileset]
    set xdc [file join $ROOT scripts constraints $board.xdc]
    if {![file exists $xdc]} {
        fail "constraints file $xdc is missing"
    }
    add_files -fileset constrs_1 -norecurse $xdc
    update_compile_order -fileset sources_1

    set jobs [dict get $opts jobs]
    launch_runs synth_1 -jobs $jobs
    wait_on_run synth_1
    check_run synth_1
    launch_runs impl_1 -to_step write_bitstream -jobs $jobs
    wait_on_run impl_1
    check_run impl_1

    open_run impl_1
    set util [file join $out utilization.txt]
    set timing [file join $out timing_summary.txt]
    report_utilization -file $util
    report_timing_summary -file $timing
    set wns [slack setup]
    set whs [slack hold]

    set bit [file join [get_property DIRECTORY [get_runs impl_1]] zipml_wrapper.bit]
    set hwh [lindex [get_files -quiet -all -of_objects $bd_file zipml.hwh] 0]
    if {$hwh eq ""} {
        # Vivado 2020.1+ generates into <project>.gen, older releases into <project>.srcs.
        set hwh [lindex [glob -nocomplain -directory $proj_dir \
            -join * sources_1 bd zipml hw_handoff zipml.hwh] 0]
    }
    foreach {what path} [list bitstream $bit "hardware handoff" $hwh] {
        if {$path eq "" || ![file exists $path]} {
            fail "Vivado did not produce the $what (looked for '$path')"
        }
    }
    file copy -force $bit [file join $out $name.bit]
    file copy -force $hwh [file join $out $name.hwh]

    set met [expr {$wns >= 0 && $whs >= 0}]
    if {$board_part eq ""} {
        set board_part "none, preset fallback"
    }
    set report [join [list \
        "ZipML overlay $name" \
        "precision bits: $bits" \
        "board: $board (board part: $board_part)" \
        "part: $PART" \
        "IP: $zipml_spec::VLNV" \
        "fabric clock requested: [dict get $opts clock] MHz" \
        "FCLK0 actual: [dict get $bd fclk0_mhz] MHz" \
        "WNS (setup): $wns ns" \
        "WHS (hold): $whs ns" \
        "timing met: [expr {$met ? "yes" : "NO"}]" \
        "Vivado: [version -short]" \
        "" \
        [read_text $util]] "\n"]
    write_text [file join $out ${name}_report.txt] $report
    close_project

    if {!$met && ![dict get $opts allow_timing_violation]} {
        fail "timing not met (WNS $wns ns, WHS $whs ns): the bitstream stays in $out and is not\
            exported; retry with a lower --clock, or pass --allow-timing-violation"
    }
    set export [dict get $opts export]
    if {$export ne "none"} {
        file mkdir $export
        foreach ext {.bit .hwh _report.txt} {
            file copy -force [file join $out $name$ext] [file join $export $name$ext]
        }
        puts "zipml build: exported $name.bit, $name.hwh, ${name}_report.txt to $export"
    }
    return $out
}

zipml_hw::main [zipml_hw::parse_args $::argv]
