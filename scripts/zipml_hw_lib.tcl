# Helpers shared by the Vivado scripts of the ZipML hardware flow (no Vivado command is called
# at source time). Every constant of the engine comes from the generated zipml_spec.tcl; the
# RTL file list comes from RTL/manifest.txt (same rules as zipml/rtl.py); the Xilinx IP table
# comes from the generated xlnx_ip/ip_table.tcl (python scripts/gen_xci.py).

set _zipml_hw_dir [file dirname [file normalize [info script]]]
source [file join $_zipml_hw_dir zipml_spec.tcl]
# the block design's cell names, DMA configuration, FCLK0 and address map (zipml/hw/bd.py)
source [file join $_zipml_hw_dir zipml_bd.tcl]

namespace eval zipml_hw {
    variable ROOT [file dirname $::_zipml_hw_dir]
    variable PART xc7z020clg400-1
    variable FLOWS {sim synth vivado}
    # Board name -> board part pattern (matched with get_board_parts) and where to get the files.
    variable BOARDS {
        pynq-z1 {pattern *:pynq-z1:part0:* files "Digilent vivado-boards (new/board_files/pynq-z1)"}
        pynq-z2 {pattern *:pynq-z2:part0:* files "TUL PYNQ-Z2 board files (pynq-z2 folder)"}
    }
    variable CLOCK_MIN 10
    variable CLOCK_MAX 250
    variable USAGE {usage: build_hw.tcl --bits B [--board pynq-z1|pynq-z2] [--clock MHZ] [--jobs N]
       [--out DIR] [--export DIR|none] [--recreate-ip] [--allow-timing-violation]}
}

# Raise an error that names the script and the argument at fault.
proc zipml_hw::fail {msg} {
    return -code error "zipml build: $msg"
}

proc zipml_hw::is_uint {text} {
    return [regexp {^[0-9]+$} $text]
}

# Decimal value of an unsigned integer text (leading zeros are not octal).
proc zipml_hw::to_int {text} {
    scan $text %d value
    return $value
}

# Check a precision against zipml_spec::PRECISIONS.
proc zipml_hw::check_bits {bits} {
    if {![is_uint $bits] || [lsearch -exact $zipml_spec::PRECISIONS [to_int $bits]] < 0} {
        fail "bits must be one of $zipml_spec::PRECISIONS (0 = float32), got '$bits'"
    }
    return [to_int $bits]
}

# Base name of the bitstream of a precision (zipml.spec.bitstream_name).
proc zipml_hw::bitstream_name {bits} {
    set bits [check_bits $bits]
    return [dict get $zipml_spec::BITSTREAM_NAMES $bits]
}

# Parse the arguments of build_hw.tcl into a dict with the keys bits, board, clock, jobs, out,
# export, recreate_ip, allow_timing_violation. Errors name the argument.
proc zipml_hw::parse_args {argv} {
    variable ROOT
    variable BOARDS
    variable CLOCK_MIN
    variable CLOCK_MAX
    variable USAGE
    set opts [dict create bits "" board pynq-z1 clock $zipml_bd::FCLK0_MHZ jobs 2 out "" \
        export [file join $ROOT zipml bitstreams] recreate_ip 0 allow_timing_violation 0]
    set i 0
    set n [llength $argv]
    while {$i < $n} {
        set arg [lindex $argv $i]
        switch -exact -- $arg {
            --bits - --board - --clock - --jobs - --out - --export {
                if {$i + 1 >= $n} {
                    fail "$arg needs a value\n$USAGE"
                }
                dict set opts [string range $arg 2 end] [lindex $argv [expr {$i + 1}]]
                incr i 2
            }
            --recreate-ip {
                dict set opts recreate_ip 1
                incr i
            }
            --allow-timing-violation {
                dict set opts allow_timing_violation 1
                incr i
            }
            default {
                fail "unknown argument '$arg'\n$USAGE"
            }
        }
    }
    if {[dict get $opts bits] eq ""} {
        fail "--bits is required\n$USAGE"
    }
    dict set opts bits [check_bits [dict get $opts bits]]
    set board [dict get $opts board]
    if {![dict exists $BOARDS $board]} {
        fail "--board must be one of [dict keys $BOARDS], got '$board'"
    }
    set clock [dict get $opts clock]
    if {![string is double -strict $clock] || $clock < $CLOCK_MIN || $clock > $CLOCK_MAX} {
        fail "--clock must be a frequency in MHz between $CLOCK_MIN and $CLOCK_MAX, got '$clock'"
    }
    set jobs [dict get $opts jobs]
    if {![is_uint $jobs] || $jobs < 1} {
        fail "--jobs must be a positive integer, got '$jobs'"
    }
    if {[dict get $opts out] eq ""} {
        dict set opts out [file join $ROOT build hw $board \
            [bitstream_name [dict get $opts bits]]]
    }
    dict set opts out [file normalize [dict get $opts out]]
    if {[dict get $opts export] ne "none"} {
        dict set opts export [file normalize [dict get $opts export]]
    }
    return $opts
}

# Absolute paths of the RTL files for precision `bits` and `flow`, in compile order, read from
# RTL/manifest.txt with the rules of zipml/rtl.py (tags bits= and flow=, '#' comments).
proc zipml_hw::manifest_files {bits flow {manifest ""}} {
    variable ROOT
    variable FLOWS
    set bits [check_bits $bits]
    if {[lsearch -exact $FLOWS $flow] < 0} {
        fail "flow must be one of $FLOWS, got '$flow'"
    }
    if {$manifest eq ""} {
        set manifest [file join $ROOT RTL manifest.txt]
    }
    set rtl_dir [file dirname $manifest]
    set fh [open $manifest r]
    set lines [split [read $fh] "\n"]
    close $fh
    set out {}
    set lineno 0
    foreach raw $lines {
        incr lineno
        set line [string trim [lindex [split $raw "#"] 0]]
        if {$line eq ""} {
            continue
        }
        set parts [regexp -all -inline {\S+} $line]
        set rel [lindex $parts 0]
        set want 1
        foreach tag [lrange $parts 1 end] {
            set eq [string first = $tag]
            set key [string range $tag 0 [expr {$eq - 1}]]
            set vals [split [string range $tag [expr {$eq + 1}] end] ,]
            if {$eq < 0} {
                set key $tag
            }
            switch -exact -- $key {
                bits {
                    foreach v $vals {
                        if {![is_uint $v] \
                                || [lsearch -exact $zipml_spec::PRECISIONS [to_int $v]] < 0} {
                            fail "$manifest:$lineno: unknown precision '$v'"
                        }
                    }
                    if {[lsearch -exact [lmap v $vals {to_int $v}] $bits] < 0} {
                        set want 0
                    }
                }
                flow {
                    foreach v $vals {
                        if {[lsearch -exact $FLOWS $v] < 0} {
                            fail "$manifest:$lineno: unknown flow '$v'"
                        }
                    }
                    if {[lsearch -exact $vals $flow] < 0} {
                        set want 0
                    }
                }
                default {
                    fail "$manifest:$lineno: unknown tag '$tag' (bits=, flow=)"
                }
            }
        }
        if {$want} {
            set path [file join $rtl_dir $rel]
            if {![file exists $path]} {
                fail "$manifest:$lineno: $rel does not exist"
            }
            lappend out [file normalize $path]
        }
    }
    return $out
}

# The Xilinx IP table (generated xlnx_ip/ip_table.tcl): a dict name -> {vlnv ... config {...}}.
proc zipml_hw::xlnx_ip_table {} {
    variable ROOT
    source [file join $ROOT xlnx_ip ip_table.tcl]
    return $zipml_xlnx_ip::TABLE
}

# The .xci file of one entry of the Xilinx IP table.
proc zipml_hw::xci_path {name} {
    variable ROOT
    return [file join $ROOT xlnx_ip $name $name.xci]
}

# Latest VLNV of an IP of the catalog by its name (e.g. axi_dma), so the scripts do not pin
# versions that differ between Vivado releases.
proc zipml_hw::ipdef {name} {
    set defs [lsort -dictionary [get_ipdefs -filter "NAME == $name"]]
    if {[llength $defs] == 0} {
        fail "the IP catalog has no '$name' (is this a Vivado install with the Zynq-7000 IP?)"
    }
    return [lindex $defs end]
}

# Check that a Vivado run finished; stop with the log's location otherwise.
proc zipml_hw::check_run {run} {
    set progress [get_property PROGRESS [get_runs $run]]
    set status [get_property STATUS [get_runs $run]]
    if {$progress ne "100%" || [string match -nocase "*error*" $status]} {
        set dir [get_property DIRECTORY [get_runs $run]]
        fail "run $run did not complete (progress $progress, status '$status'); see $dir"
    }
}
