# A strict stand-in for the Vivado TCL commands the scripts of scripts/ call, for plain tclsh.
#
# Each command checks its options and argument count against the shape the scripts may use
# (an unknown option, a missing value or a wrong argument count is an error, as is any command
# not defined here: see `unknown` below), checks that objects passed to it are objects an
# earlier command returned, keeps a small model of the project (files, IP, packaged core, block
# design cells, pins and nets) and writes it as JSON to $env(ZIPML_MOCK_STATE) on
# mock::dump_state. Nothing here knows what the scripts should do; the pytest side
# (tests/test_build_flow.py) asserts that.
#
# Inputs (environment):
#   ZIPML_MOCK_TOP_PORTS     ports of the RTL top entity: a TCL list of names
#   ZIPML_MOCK_TOP_GENERICS  generics of the RTL top entity: a TCL list of names
#   ZIPML_MOCK_BOARD_PARTS   board parts get_board_parts knows (TCL list, default none)
#   ZIPML_MOCK_WNS, ZIPML_MOCK_WHS   slack returned for setup / hold paths (default 0.25 / 0.05)
#   ZIPML_MOCK_IP_LOCKED     1: imported .xci report IS_LOCKED (default 0)
#   ZIPML_MOCK_HWH_UNLISTED  1: get_files does not list the generated .hwh (default 0)
#   ZIPML_MOCK_RUN_FAIL      synth_1 or impl_1: that run ends in error

namespace eval mock {
    variable state [dict create \
        commands {} projects {} current_project "" files {} ips {} params {} \
        core {} bd {} cells {} nets {} intf_nets {} runs {} reports {} exports {} \
        addresses {}]
    variable objs [dict create]
    # IP catalog: name -> VLNV.
    variable catalog {
        processing_system7 xilinx.com:ip:processing_system7:5.5
        axi_dma xilinx.com:ip:axi_dma:7.1
        axi_interconnect xilinx.com:ip:axi_interconnect:2.1
        smartconnect xilinx.com:ip:smartconnect:1.0
        proc_sys_reset xilinx.com:ip:proc_sys_reset:5.0
        xlconcat xilinx.com:ip:xlconcat:2.1
        floating_point xilinx.com:ip:floating_point:7.1
    }
}

# CONFIG names per IP (tests/tcl/ip_params.txt): name -> list of lower-case names.
namespace eval mock {
    variable known_params [dict create]
    set _fh [open [file join [file dirname [file normalize [info script]]] ip_params.txt] r]
    foreach _line [split [read $_fh] "\n"] {
        set _line [string trim $_line]
        if {$_line eq "" || [string index $_line 0] eq "#"} {
            continue
        }
        foreach _p [lrange $_line 1 end] {
            dict lappend known_params [lindex $_line 0] [string tolower $_p]
        }
    }
    close $_fh
}

# Check a CONFIG.<name> of an IP (by catalog name) or of the packaged engine (its generics).
proc mock::check_config_name {ipname name} {
    variable known_params
    set param [string range $name 7 end]
    if {[dict exists $known_params $ipname]} {
        set known [dict get $known_params $ipname]
    } else {
        set known [string tolower [env ZIPML_MOCK_TOP_GENERICS {}]]
    }
    if {[lsearch -exact $known [string tolower $param]] < 0} {
        fail "set_property: $ipname has no parameter '$param' (known: $known)"
    }
}

proc mock::env {name default} {
    if {[info exists ::env($name)]} {
        return $::env($name)
    }
    return $default
}

proc mock::fail {msg} {
    return -code error -level 2 "MOCK: $msg"
}

# Parse `argv` of command `cmd`: `flags` maps each allowed option to its arity (0 or 1);
# positionals must number between `lo` and `hi`. Returns a dict: option -> value, and "pos".
proc mock::parse {cmd flags lo hi argv} {
    set out [dict create pos {}]
    set i 0
    set n [llength $argv]
    while {$i < $n} {
        set a [lindex $argv $i]
        if {[string match -* $a] && ![string is double -strict $a]} {
            if {![dict exists $flags $a]} {
                fail "$cmd: unknown option '$a' (allowed: [dict keys $flags])"
            }
            if {[dict exists $out $a]} {
                fail "$cmd: option '$a' given twice"
            }
            if {[dict get $flags $a]} {
                if {$i + 1 >= $n} {
                    fail "$cmd: option '$a' needs a value"
                }
                dict set out $a [lindex $argv [expr {$i + 1}]]
                incr i 2
            } else {
                dict set out $a 1
                incr i
            }
        } else {
            dict lappend out pos $a
            incr i
        }
    }
    set np [llength [dict get $out pos]]
    if {$np < $lo || $np > $hi} {
        fail "$cmd: takes $lo..$hi positional argument(s), got $np: [dict get $out pos]"
    }
    lappend ::mock::cmdlog [list $cmd {*}$argv]
    return $out
}

proc mock::opt {d name {default ""}} {
    if {[dict exists $d $name]} {
        return [dict get $d $name]
    }
    return $default
}

# Objects: "<kind>:<id>" handles with a property dict.
proc mock::new {kind id {props {}}} {
    variable objs
    set h "$kind:$id"
    if {![dict exists $objs $h]} {
        dict set objs $h $props
    }
    return $h
}

proc mock::kind {h} {
    variable objs
    if {![dict exists $objs $h]} {
        fail "'$h' is not an object returned by a Vivado command"
    }
    return [lindex [split $h :] 0]
}

proc mock::need_kind {cmd h kinds} {
    set k [kind $h]
    if {[lsearch -exact $kinds $k] < 0} {
        fail "$cmd: expected a $kinds object, got '$h'"
    }
}

proc mock::setprop {h name value} {
    variable objs
    if {[kind $h] eq "file"} {
        # Vivado property names are case-insensitive; file properties are kept upper-case.
        set name [string toupper $name]
    }
    dict set objs $h $name $value
}

proc mock::getprop {h name} {
    variable objs
    kind $h
    if {![dict exists $objs $h $name]} {
        fail "get_property: '$h' has no property '$name'"
    }
    return [dict get $objs $h $name]
}

proc mock::st {args} {
    variable state
    return [dict get $state {*}$args]
}

proc mock::st_set {args} {
    variable state
    dict set state {*}$args
}

proc mock::st_lappend {key value} {
    variable state
    dict lappend state $key $value
}

# ------------------------------------------------------------------ unknown commands are errors
rename unknown mock::_tcl_unknown
proc unknown {args} {
    return -code error \
        "MOCK: unknown Vivado command '[lindex $args 0]' (not in tests/tcl/vivado_mock.tcl)"
}

# ------------------------------------------------------------------ project, files, parameters
proc version {args} {
    mock::parse version {-short 0} 0 0 $args
    return "2020.2 (mock)"
}

proc set_param {args} {
    set a [mock::parse set_param {} 2 2 $args]
    lassign [dict get $a pos] name value
    if {$name ne "board.repoPaths"} {
        mock::fail "set_param: unexpected parameter '$name'"
    }
    mock::st_set params $name $value
}

proc create_project {args} {
    set a [mock::parse create_project {-force 0 -part 1 -in_memory 0} 0 2 $args]
    set pos [dict get $a pos]
    if {[dict exists $a -in_memory]} {
        if {[llength $pos] != 0} {
            mock::fail "create_project -in_memory takes no name/dir"
        }
        set name in_memory
        set dir ""
    } else {
        if {[llength $pos] != 2} {
            mock::fail "create_project: needs <name> <dir>, got '$pos'"
        }
        lassign $pos name dir
        if {[file exists $dir] && ![dict exists $a -force]} {
            mock::fail "create_project: $dir exists and -force is not given"
        }
        file mkdir $dir
    }
    if {[mock::st current_project] ne ""} {
        mock::fail "create_project: project [mock::st current_project] is still open"
    }
    set part [mock::opt $a -part]
    if {$part eq ""} {
        mock::fail "create_project: no -part"
    }
    set h [mock::new project $name [dict create NAME $name DIRECTORY $dir PART $part]]
    mock::st_set projects $name [dict create dir $dir part $part props {} files {} ips {}]
    mock::st_set current_project $name
    # A new project starts with empty filesets (no top, no generics).
    dict set ::mock::objs fileset:sources_1 {}
    dict set ::mock::objs fileset:constrs_1 {}
    return $h
}

proc mock::cur {} {
    set p [st current_project]
    if {$p eq ""} {
        fail "no open project"
    }
    return $p
}

proc current_project {args} {
    mock::parse current_project {} 0 0 $args
    return "project:[mock::cur]"
}

proc current_fileset {args} {
    mock::parse current_fileset {} 0 0 $args
    mock::cur
    return fileset:sources_1
}

proc close_project {args} {
    mock::parse close_project {} 0 0 $args
    mock::cur
    mock::st_set current_project ""
}

proc add_files {args} {
    set a [mock::parse add_files {-norecurse 0 -fileset 1} 1 1 $args]
    set p [mock::cur]
    set fs [mock::opt $a -fileset sources_1]
    if {[lsearch -exact {sources_1 constrs_1} $fs] < 0} {
        mock::fail "add_files: unknown fileset '$fs'"
    }
    set files [lindex [dict get $a pos] 0]
    if {[llength $files] == 0} {
        mock::fail "add_files: no file"
    }
    foreach f $files {
        if {![file isfile $f]} {
            mock::fail "add_files: '$f' does not exist"
        }
        set f [file normalize $f]
        mock::new file $f [dict create FILE_TYPE auto FILESET $fs]
        mock::st_set projects $p files $f $fs
    }
    return $files
}

proc get_files {args} {
    set a [mock::parse get_files {-all 0 -of_objects 1 -quiet 0} 1 1 $args]
    set p [mock::cur]
    set pat [lindex [dict get $a pos] 0]
    set known [dict keys [mock::st projects $p files]]
    if {[dict exists $a -of_objects]} {
        # Only the form the flow uses: the handoff file of a generated block design.
        set bd [dict get $a -of_objects]
        if {![dict exists $a -all] || [file extension $bd] ne ".bd"} {
            mock::fail "get_files -of_objects: expected -all and a .bd file, got '$args'"
        }
        set out {}
        if {[mock::env ZIPML_MOCK_HWH_UNLISTED 0]} {
            return {}
        }
        foreach f [mock::st bd generated] {
            if {[string match $pat [file tail $f]]} {
                lappend out $f
            }
        }
        return $out
    }
    set out {}
    foreach item $pat {
        set hits {}
        foreach f $known {
            if {$f eq [file normalize $item] || [string match $item [file tail $f]]} {
                lappend hits $f
            }
        }
        if {[llength $hits] == 0} {
            mock::fail "get_files: no file matches '$item' in project $p"
        }
        lappend out {*}$hits
    }
    return $out
}

# Known objects for set_property: handles, or files of the current project.
proc mock::objects {cmd objects} {
    if {[llength $objects] == 0} {
        fail "$cmd: no object given"
    }
    set out {}
    foreach o $objects {
        variable objs
        if {[dict exists $objs $o]} {
            lappend out $o
        } elseif {[dict exists $objs file:$o]} {
            lappend out file:$o
        } else {
            fail "$cmd: '$o' is not an object returned by a Vivado command"
        }
    }
    return $out
}

proc set_property {args} {
    set a [mock::parse set_property {-dict 1 -quiet 0} 1 3 $args]
    set pos [dict get $a pos]
    if {[dict exists $a -dict]} {
        if {[llength $pos] != 1} {
            mock::fail "set_property -dict: takes <list> <objects>, got '$args'"
        }
        set pairs [dict get $a -dict]
        if {[llength $pairs] % 2} {
            mock::fail "set_property -dict: odd-length list '$pairs'"
        }
        set objects [lindex $pos 0]
    } else {
        if {[llength $pos] != 3} {
            mock::fail "set_property: takes <name> <value> <objects>, got '$args'"
        }
        lassign $pos name value objects
        set pairs [list $name $value]
    }
    foreach h [mock::objects set_property $objects] {
        foreach {name value} $pairs {
            mock::check_property $h $name $value
            mock::setprop $h $name $value
        }
    }
}

# Properties the flow may set, per object kind.
proc mock::check_property {h name value} {
    set k [kind $h]
    set ok 0
    switch -exact -- $k {
        project {
            set ok [expr {[lsearch -exact {target_language board_part ip_repo_paths} $name] >= 0}]
        }
        fileset {
            set ok [expr {[lsearch -exact {top generic} $name] >= 0}]
        }
        file {
            set ok [expr {$name eq "FILE_TYPE" || $name eq "file_type"}]
        }
        ip {
            set ok [string match CONFIG.* $name]
            if {$ok} {
                check_config_name floating_point $name
            }
        }
        bd_cell {
            set ok [string match CONFIG.* $name]
            if {$ok} {
                set cell [string range $h 9 end]
                check_config_name [lindex [split [st cells $cell vlnv] :] 2] $name
            }
        }
        ipx_core {
            set ok [expr {[lsearch -exact {name version display_name description} $name] >= 0}]
        }
        ipx_uparam {
            set ok [expr {[lsearch -exact {value value_validation_type value_validation_list
                value_validation_range_minimum value_validation_range_maximum
                enablement_value} $name] >= 0}]
        }
        ipx_hparam - ipx_busparam {
            set ok [expr {$name eq "value"}]
        }
    }
    if {!$ok} {
        fail "set_property: '$name' is not a property the mock knows for $k objects ($h)"
    }
}

proc get_property {args} {
    set a [mock::parse get_property {-quiet 0} 2 2 $args]
    lassign [dict get $a pos] name obj
    set objs [mock::objects get_property $obj]
    if {[llength $objs] != 1} {
        mock::fail "get_property: expected one object, got '$obj'"
    }
    set h [lindex $objs 0]
    if {$name eq "CONFIG.PCW_ACT_FPGA0_PERIPHERAL_FREQMHZ"} {
        return [mock::getprop $h CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ]
    }
    return [mock::getprop $h $name]
}

proc update_compile_order {args} {
    set a [mock::parse update_compile_order {-fileset 1} 0 0 $args]
    mock::cur
}

proc update_ip_catalog {args} {
    mock::parse update_ip_catalog {-rebuild 0} 0 0 $args
    set p [mock::cur]
    variable ::mock::objs
    set repos [dict get $::mock::objs project:$p ip_repo_paths]
    mock::st_set projects $p catalog_repos $repos
}

proc get_ipdefs {args} {
    set a [mock::parse get_ipdefs {-filter 1 -all 0} 0 0 $args]
    if {![regexp {^NAME == (\w+)$} [mock::opt $a -filter] -> name]} {
        mock::fail "get_ipdefs: expected -filter \"NAME == <name>\", got '$args'"
    }
    if {[dict exists $::mock::catalog $name]} {
        return [list [dict get $::mock::catalog $name]]
    }
    return {}
}

proc get_board_parts {args} {
    set a [mock::parse get_board_parts {-quiet 0} 1 1 $args]
    set pat [lindex [dict get $a pos] 0]
    set out {}
    foreach bp [mock::env ZIPML_MOCK_BOARD_PARTS {}] {
        if {[string match $pat $bp]} {
            lappend out $bp
        }
    }
    return $out
}

# ------------------------------------------------------------------ Xilinx IP (.xci)
proc import_ip {args} {
    set a [mock::parse import_ip {} 1 1 $args]
    set p [mock::cur]
    set xci [lindex [dict get $a pos] 0]
    if {[file extension $xci] ne ".xci" || ![file isfile $xci]} {
        mock::fail "import_ip: '$xci' is not an existing .xci file"
    }
    set name [file rootname [file tail $xci]]
    mock::new ip $name [dict create IS_LOCKED [mock::env ZIPML_MOCK_IP_LOCKED 0]]
    mock::st_set projects $p ips $name [dict create how import source [file normalize $xci]]
}

proc create_ip {args} {
    set a [mock::parse create_ip {-vendor 1 -library 1 -name 1 -version 1 -module_name 1 -dir 1} \
        0 0 $args]
    set p [mock::cur]
    foreach o {-vendor -library -name -version -module_name} {
        if {![dict exists $a $o]} {
            mock::fail "create_ip: missing $o"
        }
    }
    set vlnv [join [list [dict get $a -vendor] [dict get $a -library] [dict get $a -name] \
        [dict get $a -version]] :]
    if {[lsearch -exact [dict values $::mock::catalog] $vlnv] < 0} {
        mock::fail "create_ip: '$vlnv' is not in the catalog"
    }
    set name [dict get $a -module_name]
    mock::new ip $name [dict create IS_LOCKED 0]
    mock::st_set projects $p ips $name [dict create how create vlnv $vlnv \
        dir [mock::opt $a -dir]]
}

proc get_ips {args} {
    set a [mock::parse get_ips {} 1 1 $args]
    set name [lindex [dict get $a pos] 0]
    if {![dict exists [mock::st projects [mock::cur] ips] $name]} {
        mock::fail "get_ips: no IP '$name' in the project"
    }
    return ip:$name
}

proc upgrade_ip {args} {
    set a [mock::parse upgrade_ip {} 1 1 $args]
    set h [lindex [dict get $a pos] 0]
    mock::need_kind upgrade_ip $h ip
    mock::setprop $h IS_LOCKED 0
    mock::setprop $h UPGRADED 1
}

# ------------------------------------------------------------------ IP packager (ipx::)
namespace eval ipx {}

proc ipx::package_project {args} {
    set a [mock::parse ipx::package_project {-root_dir 1 -vendor 1 -library 1 -taxonomy 1 \
        -import_files 0 -set_current 1} 0 0 $args]
    set p [mock::cur]
    if {![dict exists $::mock::objs fileset:sources_1 top]} {
        mock::fail "ipx::package_project: no top set"
    }
    set top [dict get $::mock::objs fileset:sources_1 top]
    # Interfaces as the packager infers them from port prefixes.
    set busifs {}
    set loose {}
    foreach port [mock::env ZIPML_MOCK_TOP_PORTS {}] {
        if {$port eq "aclk" || $port eq "aresetn"} {
            dict set busifs $port [list $port]
        } elseif {[regexp {^(s_axis|m_axis|s_axi)_(\w+)$} $port -> prefix sig]} {
            dict lappend busifs $prefix $port
        } else {
            lappend loose $port
        }
    }
    foreach bi [dict keys $busifs] {
        mock::new ipx_busif $bi {}
    }
    foreach g [mock::env ZIPML_MOCK_TOP_GENERICS {}] {
        mock::new ipx_uparam $g {}
        mock::new ipx_hparam $g {}
    }
    set core [mock::new ipx_core $top [dict create name $top version 1.0 \
        vendor [dict get $a -vendor] library [dict get $a -library]]]
    mock::st_set core [dict create top $top root_dir [dict get $a -root_dir] \
        files [dict keys [mock::st projects $p files]] ips [dict keys [mock::st projects $p ips]] \
        busifs $busifs loose_ports $loose associations {} saved 0 handle $core steps {}]
    return $core
}

proc ipx::current_core {args} {
    mock::parse ipx::current_core {} 0 0 $args
    if {[mock::st core] eq ""} {
        mock::fail "ipx::current_core: nothing packaged"
    }
    return [mock::st core handle]
}

proc ipx::get_bus_interfaces {args} {
    set a [mock::parse ipx::get_bus_interfaces {-of_objects 1} 1 1 $args]
    mock::need_kind ipx::get_bus_interfaces [dict get $a -of_objects] ipx_core
    set name [lindex [dict get $a pos] 0]
    if {[dict exists [mock::st core busifs] $name]} {
        return ipx_busif:$name
    }
    return {}
}

proc ipx::associate_bus_interfaces {args} {
    set a [mock::parse ipx::associate_bus_interfaces {-busif 1 -clock 1 -reset 1} 1 1 $args]
    mock::need_kind ipx::associate_bus_interfaces [lindex [dict get $a pos] 0] ipx_core
    set clk [mock::opt $a -clock]
    if {$clk eq "" || ![dict exists [mock::st core busifs] $clk]} {
        mock::fail "ipx::associate_bus_interfaces: -clock '$clk' is not an interface of the core"
    }
    foreach o {-busif -reset} {
        if {[dict exists $a $o] && ![dict exists [mock::st core busifs] [dict get $a $o]]} {
            mock::fail "ipx::associate_bus_interfaces: $o '[dict get $a $o]' is not an interface"
        }
    }
    if {[dict exists $a -busif] == [dict exists $a -reset]} {
        mock::fail "ipx::associate_bus_interfaces: give either -busif or -reset with -clock"
    }
    set assoc [mock::st core associations]
    lappend assoc [list $clk [mock::opt $a -busif [mock::opt $a -reset]]]
    mock::st_set core associations $assoc
}

proc ipx::get_bus_parameters {args} {
    set a [mock::parse ipx::get_bus_parameters {-of_objects 1} 1 1 $args]
    set bi [dict get $a -of_objects]
    mock::need_kind ipx::get_bus_parameters $bi ipx_busif
    set h "ipx_busparam:[lindex [split $bi :] 1]/[lindex [dict get $a pos] 0]"
    if {[dict exists $::mock::objs $h]} {
        return $h
    }
    return {}
}

proc ipx::add_bus_parameter {args} {
    set a [mock::parse ipx::add_bus_parameter {} 2 2 $args]
    lassign [dict get $a pos] name bi
    mock::need_kind ipx::add_bus_parameter $bi ipx_busif
    return [mock::new ipx_busparam "[lindex [split $bi :] 1]/$name" {}]
}

proc mock::param_get {cmd kind argv} {
    set a [parse $cmd {-of_objects 1} 1 1 $argv]
    need_kind $cmd [dict get $a -of_objects] ipx_core
    set h "$kind:[lindex [dict get $a pos] 0]"
    variable objs
    if {![dict exists $objs $h]} {
        fail "$cmd: the packaged core has no parameter '[lindex [dict get $a pos] 0]'\
            (generics of the top entity: [env ZIPML_MOCK_TOP_GENERICS {}])"
    }
    return $h
}

proc ipx::get_user_parameters {args} {
    return [mock::param_get ipx::get_user_parameters ipx_uparam $args]
}

proc ipx::get_hdl_parameters {args} {
    return [mock::param_get ipx::get_hdl_parameters ipx_hparam $args]
}

proc mock::core_step {cmd argv} {
    set a [parse ipx::$cmd {} 1 1 $argv]
    need_kind ipx::$cmd [lindex [dict get $a pos] 0] ipx_core
    st_set core steps $cmd 1
}

proc ipx::create_xgui_files {args} {
    mock::core_step create_xgui_files $args
}

proc ipx::update_checksums {args} {
    mock::core_step update_checksums $args
}

proc ipx::check_integrity {args} {
    mock::core_step check_integrity $args
}

proc ipx::save_core {args} {
    mock::core_step save_core $args
    set c [mock::st core handle]
    set vlnv [join [list [mock::getprop $c vendor] [mock::getprop $c library] \
        [mock::getprop $c name] [mock::getprop $c version]] :]
    mock::st_set core saved 1
    mock::st_set core vlnv $vlnv
    file mkdir [mock::st core root_dir]
    set fh [open [file join [mock::st core root_dir] component.xml] w]
    puts $fh "<!-- mock component $vlnv -->"
    close $fh
}

# ------------------------------------------------------------------ block design
proc create_bd_design {args} {
    set a [mock::parse create_bd_design {} 1 1 $args]
    set p [mock::cur]
    set name [lindex [dict get $a pos] 0]
    set dir [mock::st projects $p dir]
    set bd [file join $dir $p.srcs sources_1 bd $name $name.bd]
    file mkdir [file dirname $bd]
    close [open $bd w]
    mock::new file $bd [dict create FILESET sources_1]
    mock::st_set projects $p files $bd sources_1
    mock::st_set bd [dict create name $name file $bd validated 0 saved 0 addressed 0 \
        generated {} automation {}]
}

# Pins and interface pins of a cell, from its IP and configuration.
proc mock::cell_pins {cell} {
    set vlnv [st cells $cell vlnv]
    set cfg [getprop bd_cell:/$cell CONFIG]
    set name [lindex [split $vlnv :] 2]
    set intf {}
    set pins {}
    switch -exact -- $name {
        processing_system7 {
            set intf {M_AXI_GP0 S_AXI_HP0 DDR FIXED_IO}
            set pins {FCLK_CLK0 FCLK_RESET0_N M_AXI_GP0_ACLK S_AXI_HP0_ACLK IRQ_F2P}
        }
        axi_dma {
            set intf {S_AXI_LITE M_AXI_MM2S M_AXI_S2MM M_AXIS_MM2S S_AXIS_S2MM}
            set pins {s_axi_lite_aclk m_axi_mm2s_aclk m_axi_s2mm_aclk axi_resetn
                mm2s_introut s2mm_introut}
        }
        axi_interconnect {
            set pins {ACLK ARESETN}
            foreach {side key} {S CONFIG.NUM_SI M CONFIG.NUM_MI} {
                set num [expr {[dict exists $cfg $key] ? [dict get $cfg $key] : 1}]
                for {set i 0} {$i < $num} {incr i} {
                    set pfx [format %s%02d $side $i]
                    lappend intf ${pfx}_AXI
                    lappend pins ${pfx}_ACLK ${pfx}_ARESETN
                }
            }
        }
        smartconnect {
            set pins {aclk aresetn}
            foreach {side key} {S CONFIG.NUM_SI M CONFIG.NUM_MI} {
                set num [expr {[dict exists $cfg $key] ? [dict get $cfg $key] : 1}]
                for {set i 0} {$i < $num} {incr i} {
                    lappend intf [format %s%02d_AXI $side $i]
                }
            }
        }
        proc_sys_reset {
            set pins {slowest_sync_clk ext_reset_in aux_reset_in mb_debug_sys_rst dcm_locked
                mb_reset bus_struct_reset peripheral_reset interconnect_aresetn
                peripheral_aresetn}
        }
        xlconcat {
            set num 2
            if {[dict exists $cfg CONFIG.NUM_PORTS]} {
                set num [dict get $cfg CONFIG.NUM_PORTS]
            }
            for {set i 0} {$i < $num} {incr i} {
                lappend pins In$i
            }
            lappend pins dout
        }
        default {
            # The packaged engine: inferred interfaces, loose ports as pins.
            foreach bi [dict keys [st core busifs]] {
                if {$bi eq "aclk" || $bi eq "aresetn"} {
                    lappend pins $bi
                } else {
                    lappend intf $bi
                }
            }
            lappend pins {*}[st core loose_ports]
        }
    }
    return [list $intf $pins]
}

proc create_bd_cell {args} {
    set a [mock::parse create_bd_cell {-type 1 -vlnv 1} 1 1 $args]
    if {[mock::st bd] eq ""} {
        mock::fail "create_bd_cell: no block design"
    }
    set name [lindex [dict get $a pos] 0]
    if {[mock::opt $a -type] ne "ip"} {
        mock::fail "create_bd_cell: expected -type ip"
    }
    set vlnv [mock::opt $a -vlnv]
    if {[dict exists [mock::st cells] $name]} {
        mock::fail "create_bd_cell: cell '$name' exists"
    }
    if {[lsearch -exact [dict values $::mock::catalog] $vlnv] < 0} {
        # Must be the packaged core, from a repository in the project's catalog.
        set p [mock::cur]
        set core [mock::st core]
        if {$core eq "" || ![dict get $core saved] || [dict get $core vlnv] ne $vlnv} {
            mock::fail "create_bd_cell: no IP '$vlnv' in the catalog"
        }
        set repos {}
        if {[dict exists [mock::st projects $p] catalog_repos]} {
            set repos [mock::st projects $p catalog_repos]
        }
        if {[lsearch -exact $repos [dict get $core root_dir]] < 0} {
            mock::fail "create_bd_cell: '$vlnv' is packaged in [dict get $core root_dir], which\
                is not in the project's ip_repo_paths (after update_ip_catalog): '$repos'"
        }
    }
    mock::st_set cells $name [dict create vlnv $vlnv]
    return [mock::new bd_cell /$name [dict create CONFIG {}]]
}

# Cell configuration lives in one CONFIG dict so the pin model can read it.
rename set_property mock::_set_property
proc set_property {args} {
    set a [mock::parse set_property {-dict 1 -quiet 0} 1 3 $args]
    set pos [dict get $a pos]
    set objects [lindex $pos end]
    set cells {}
    foreach o $objects {
        if {[string match bd_cell:* $o]} {
            lappend cells $o
        }
    }
    if {[llength $cells] == 0} {
        return [mock::_set_property {*}$args]
    }
    if {[llength $cells] != [llength $objects]} {
        mock::fail "set_property: mixed cell and non-cell objects"
    }
    set pairs [expr {[dict exists $a -dict] ? [dict get $a -dict] : [lrange $pos 0 1]}]
    if {[llength $pairs] % 2 || [llength $pos] != ([dict exists $a -dict] ? 1 : 3)} {
        mock::fail "set_property: bad arguments '$args'"
    }
    foreach c $cells {
        mock::kind $c
        set cfg [mock::getprop $c CONFIG]
        foreach {k v} $pairs {
            mock::check_property $c $k $v
            dict set cfg $k $v
            mock::setprop $c $k $v
        }
        mock::setprop $c CONFIG $cfg
        mock::st_set cells [string range $c 9 end] config $cfg
    }
}

proc mock::bd_obj {cmd kind path} {
    if {![regexp {^([A-Za-z0-9_]+)/([A-Za-z0-9_]+)$} $path -> cell pin]} {
        fail "$cmd: expected <cell>/<pin>, got '$path'"
    }
    if {![dict exists [st cells] $cell]} {
        fail "$cmd: no cell '$cell'"
    }
    lassign [cell_pins $cell] intf pins
    set names [expr {$kind eq "bd_intf_pin" ? $intf : $pins}]
    if {[lsearch -exact $names $pin] < 0} {
        fail "$cmd: cell '$cell' ([st cells $cell vlnv]) has no $kind '$pin' (has: $names)"
    }
    return [new $kind /$cell/$pin {}]
}

proc get_bd_pins {args} {
    set a [mock::parse get_bd_pins {} 1 1 $args]
    return [mock::bd_obj get_bd_pins bd_pin [lindex [dict get $a pos] 0]]
}

proc get_bd_intf_pins {args} {
    set a [mock::parse get_bd_intf_pins {} 1 1 $args]
    return [mock::bd_obj get_bd_intf_pins bd_intf_pin [lindex [dict get $a pos] 0]]
}

proc mock::connected {} {
    set out {}
    foreach net [concat [st nets] [st intf_nets]] {
        lappend out {*}$net
    }
    return $out
}

proc connect_bd_net {args} {
    set a [mock::parse connect_bd_net {} 2 64 $args]
    set pins [dict get $a pos]
    foreach p $pins {
        mock::need_kind connect_bd_net $p bd_pin
        if {[lsearch -exact [mock::connected] $p] >= 0} {
            mock::fail "connect_bd_net: $p is already connected"
        }
    }
    if {[llength [lsort -unique $pins]] != [llength $pins]} {
        mock::fail "connect_bd_net: a pin appears twice"
    }
    mock::st_lappend nets $pins
}

proc connect_bd_intf_net {args} {
    set a [mock::parse connect_bd_intf_net {} 2 2 $args]
    set pins [dict get $a pos]
    foreach p $pins {
        mock::need_kind connect_bd_intf_net $p bd_intf_pin
        if {[lsearch -exact [mock::connected] $p] >= 0} {
            mock::fail "connect_bd_intf_net: $p is already connected"
        }
    }
    mock::st_lappend intf_nets $pins
}

proc apply_bd_automation {args} {
    set a [mock::parse apply_bd_automation {-rule 1 -config 1} 1 1 $args]
    set cell [lindex [dict get $a pos] 0]
    mock::need_kind apply_bd_automation $cell bd_cell
    if {[mock::opt $a -rule] ne "xilinx.com:bd_rule:processing_system7"} {
        mock::fail "apply_bd_automation: unexpected rule '[mock::opt $a -rule]'"
    }
    set cfg [mock::opt $a -config]
    if {[llength $cfg] % 2} {
        mock::fail "apply_bd_automation: -config is not a dict"
    }
    foreach k [dict keys $cfg] {
        if {[lsearch -exact {make_external apply_board_preset Master Slave} $k] < 0} {
            mock::fail "apply_bd_automation: unknown -config key '$k'"
        }
    }
    if {[dict get $cfg apply_board_preset] \
            && ![dict exists $::mock::objs project:[mock::cur] board_part]} {
        mock::fail "apply_bd_automation: apply_board_preset 1 without a board part"
    }
    set cellname [string range $cell 9 end]
    foreach ext [split [dict get $cfg make_external] ,] {
        set pin [mock::new bd_intf_pin /$cellname/[string trim $ext] {}]
        mock::st_lappend intf_nets [list $pin external]
    }
    mock::st_set bd automation $cfg
}

# Address spaces/segments: <cell>/<space> and <cell>/<slave interface>/<block>.
proc get_bd_addr_spaces {args} {
    set a [mock::parse get_bd_addr_spaces {} 1 1 $args]
    set path [lindex [dict get $a pos] 0]
    if {![regexp {^([A-Za-z0-9_]+)/([A-Za-z0-9_]+)$} $path -> cell space]} {
        mock::fail "get_bd_addr_spaces: expected <cell>/<space>, got '$path'"
    }
    if {![dict exists [mock::st cells] $cell]} {
        mock::fail "get_bd_addr_spaces: no cell '$cell'"
    }
    return [mock::new bd_addr_space /$path {}]
}

proc get_bd_addr_segs {args} {
    set a [mock::parse get_bd_addr_segs {} 1 1 $args]
    set path [lindex [dict get $a pos] 0]
    if {![regexp {^([A-Za-z0-9_]+)/([A-Za-z0-9_]+)/([A-Za-z0-9_]+)$} $path -> cell intf blk]} {
        mock::fail "get_bd_addr_segs: expected <cell>/<interface>/<block>, got '$path'"
    }
    if {![dict exists [mock::st cells] $cell]} {
        mock::fail "get_bd_addr_segs: no cell '$cell'"
    }
    if {[lsearch -exact [lindex [mock::cell_pins $cell] 0] $intf] < 0} {
        mock::fail "get_bd_addr_segs: cell '$cell' has no interface '$intf'"
    }
    return [mock::new bd_addr_seg /$path {}]
}

# Without arguments: automatic assignment. With a segment: -offset, -range and
# -target_address_space are required (recorded in the state's "addresses").
proc assign_bd_address {args} {
    set a [mock::parse assign_bd_address \
        {-offset 1 -range 1 -target_address_space 1 -force 0} 0 1 $args]
    set pos [dict get $a pos]
    if {[llength $pos]} {
        set seg [lindex $pos 0]
        mock::need_kind assign_bd_address $seg bd_addr_seg
        foreach opt {-offset -range -target_address_space} {
            if {![dict exists $a $opt]} {
                mock::fail "assign_bd_address: $opt is required with a segment"
            }
        }
        mock::need_kind assign_bd_address [dict get $a -target_address_space] bd_addr_space
        if {![regexp {^0x[0-9A-Fa-f]{8}$} [dict get $a -offset]]} {
            mock::fail "assign_bd_address: -offset must be 0x<8 hex digits>,\
                got '[dict get $a -offset]'"
        }
        if {![regexp {^[0-9]+[KMG]$} [dict get $a -range]]} {
            mock::fail "assign_bd_address: -range must be <n>K|M|G, got '[dict get $a -range]'"
        }
        mock::st_lappend addresses [list [string range $seg 13 end] [dict get $a -offset] \
            [dict get $a -range] [string range [dict get $a -target_address_space] 15 end]]
    } elseif {[dict size $a] > 1} {
        mock::fail "assign_bd_address: options need a segment"
    }
    mock::st_set bd addressed 1
}

proc validate_bd_design {args} {
    mock::parse validate_bd_design {} 0 0 $args
    mock::st_set bd validated 1
}

proc save_bd_design {args} {
    mock::parse save_bd_design {} 0 0 $args
    mock::st_set bd saved 1
}

proc generate_target {args} {
    set a [mock::parse generate_target {} 2 2 $args]
    lassign [dict get $a pos] what bd
    if {$what ne "all" || $bd ne [mock::st bd file]} {
        mock::fail "generate_target: expected 'all <bd file>', got '$args'"
    }
    if {![mock::st bd saved]} {
        mock::fail "generate_target: block design not saved"
    }
    set hwh [file join [file dirname $bd] hw_handoff [mock::st bd name].hwh]
    file mkdir [file dirname $hwh]
    set fh [open $hwh w]
    puts $fh "<!-- mock hwh -->"
    close $fh
    mock::st_set bd generated [list $hwh]
}

proc make_wrapper {args} {
    set a [mock::parse make_wrapper {-files 1 -top 0} 0 0 $args]
    if {[mock::opt $a -files] ne [mock::st bd file]} {
        mock::fail "make_wrapper: -files must be the block design file"
    }
    set w [file join [file dirname [mock::st bd file]] hdl [mock::st bd name]_wrapper.vhd]
    file mkdir [file dirname $w]
    close [open $w w]
    return $w
}

# ------------------------------------------------------------------ runs and reports
proc launch_runs {args} {
    set a [mock::parse launch_runs {-jobs 1 -to_step 1} 1 1 $args]
    set p [mock::cur]
    set run [lindex [dict get $a pos] 0]
    if {![string is integer -strict [mock::opt $a -jobs]]} {
        mock::fail "launch_runs: -jobs must be an integer"
    }
    set dir [file join [mock::st projects $p dir] $p.runs $run]
    file mkdir $dir
    switch -exact -- $run {
        synth_1 {
            if {![dict exists $::mock::objs fileset:sources_1 top]} {
                mock::fail "launch_runs synth_1: no top"
            }
        }
        impl_1 {
            if {![dict exists [mock::st runs] synth_1]} {
                mock::fail "launch_runs impl_1 before synth_1"
            }
            if {[mock::opt $a -to_step] ne "write_bitstream"} {
                mock::fail "launch_runs impl_1: expected -to_step write_bitstream"
            }
            set top [dict get $::mock::objs fileset:sources_1 top]
            close [open [file join $dir $top.bit] w]
        }
        default {
            mock::fail "launch_runs: unknown run '$run'"
        }
    }
    set status [expr {$run eq "synth_1" ? "synth_design Complete!" : "write_bitstream Complete!"}]
    set progress 100%
    if {[mock::env ZIPML_MOCK_RUN_FAIL ""] eq $run} {
        set status "$run ERROR"
        set progress 0%
    }
    mock::new run $run [dict create PROGRESS $progress STATUS $status DIRECTORY $dir]
    mock::st_set runs $run [dict create jobs [mock::opt $a -jobs] waited 0]
}

proc wait_on_run {args} {
    set a [mock::parse wait_on_run {} 1 1 $args]
    set run [lindex [dict get $a pos] 0]
    if {![dict exists [mock::st runs] $run]} {
        mock::fail "wait_on_run: run '$run' was not launched"
    }
    mock::st_set runs $run waited 1
}

proc get_runs {args} {
    set a [mock::parse get_runs {} 1 1 $args]
    set run [lindex [dict get $a pos] 0]
    if {![dict exists [mock::st runs] $run]} {
        mock::fail "get_runs: no run '$run'"
    }
    return run:$run
}

proc open_run {args} {
    set a [mock::parse open_run {} 1 1 $args]
    set run [lindex [dict get $a pos] 0]
    if {![dict exists [mock::st runs] $run] || ![mock::st runs $run waited]} {
        mock::fail "open_run: run '$run' not finished"
    }
    mock::st_set runs $run opened 1
}

proc mock::report {cmd argv} {
    set a [parse $cmd {-file 1} 0 0 $argv]
    set f [opt $a -file]
    if {$f eq ""} {
        fail "$cmd: expected -file"
    }
    set fh [open $f w]
    puts $fh "mock $cmd"
    close $fh
    st_set reports $cmd $f
}

proc report_utilization {args} {
    mock::report report_utilization $args
}

proc report_timing_summary {args} {
    mock::report report_timing_summary $args
}

proc get_timing_paths {args} {
    set a [mock::parse get_timing_paths {-max_paths 1 -nworst 1 -setup 0 -hold 0} 0 0 $args]
    if {[dict exists $a -setup] == [dict exists $a -hold]} {
        mock::fail "get_timing_paths: give -setup or -hold"
    }
    if {[dict exists $a -setup]} {
        return [mock::new timing_path setup [dict create SLACK [mock::env ZIPML_MOCK_WNS 0.25]]]
    }
    return [mock::new timing_path hold [dict create SLACK [mock::env ZIPML_MOCK_WHS 0.05]]]
}

# ------------------------------------------------------------------ state dump (JSON)
proc mock::json {value {type str}} {
    switch -exact -- $type {
        str {
            set s [string map {\\ \\\\ \" \\\" \n \\n \r \\r \t \\t} $value]
            return "\"$s\""
        }
        list {
            return "\[[join [lmap v $value {json $v}] ,]\]"
        }
        lists {
            return "\[[join [lmap v $value {json $v list}] ,]\]"
        }
        dict {
            return "\{[join [lmap {k v} $value {string cat [json $k] : [json $v]}] ,]\}"
        }
    }
}

proc mock::dump_state {{error ""}} {
    variable objs
    set p [st projects]
    set projects {}
    dict for {name pd} $p {
        set props {}
        if {[dict exists $objs project:$name]} {
            set props [json [dict get $objs project:$name] dict]
        } else {
            set props "{}"
        }
        set ips {}
        dict for {ip info} [dict get $pd ips] {
            set ipprops [dict get $objs ip:$ip]
            lappend ips "[json $ip]:{\"info\":[json $info dict],\"props\":[json $ipprops dict]}"
        }
        lappend projects "[json $name]:{\"part\":[json [dict get $pd part]],\
            \"dir\":[json [dict get $pd dir]],\"props\":$props,\
            \"files\":[json [dict get $pd files] dict],\"ips\":{[join $ips ,]},\
            \"file_props\":{[join [lmap f [dict keys [dict get $pd files]] {
                string cat [json $f] : [json [dict get $objs file:$f] dict]}] ,]}}"
    }
    set cells {}
    dict for {name cd} [st cells] {
        lassign [cell_pins $name] intf pins
        set cfg [getprop bd_cell:/$name CONFIG]
        lappend cells "[json $name]:{\"vlnv\":[json [dict get $cd vlnv]],\
            \"config\":[json $cfg dict],\"intf\":[json $intf list],\"pins\":[json $pins list]}"
    }
    set core "null"
    if {[st core] ne ""} {
        set c [st core]
        set h [dict get $c handle]
        set uparams {}
        set hparams {}
        foreach o [dict keys $objs] {
            if {[string match ipx_uparam:* $o]} {
                lappend uparams "[json [string range $o 11 end]]:[json [dict get $objs $o] dict]"
            } elseif {[string match ipx_hparam:* $o]} {
                lappend hparams "[json [string range $o 11 end]]:[json [dict get $objs $o] dict]"
            } elseif {[string match ipx_busparam:* $o]} {
                lappend uparams "[json $o]:[json [dict get $objs $o] dict]"
            }
        }
        set busifs {}
        dict for {bi ports} [dict get $c busifs] {
            lappend busifs "[json $bi]:[json $ports list]"
        }
        set vlnv [expr {[dict exists $c vlnv] ? [dict get $c vlnv] : ""}]
        set core "{\"props\":[json [dict get $objs $h] dict],\"saved\":[dict get $c saved],\
            \"vlnv\":[json $vlnv],\"root_dir\":[json [dict get $c root_dir]],\
            \"files\":[json [dict get $c files] list],\"ips\":[json [dict get $c ips] list],\
            \"busifs\":{[join $busifs ,]},\"loose_ports\":[json [dict get $c loose_ports] list],\
            \"associations\":[json [dict get $c associations] lists],\
            \"steps\":[json [dict get $c steps] dict],\
            \"params\":{[join $uparams ,]},\"hdl_params\":{[join $hparams ,]}}"
    }
    set bd "null"
    if {[st bd] ne ""} {
        set b [st bd]
        set bd "{\"name\":[json [dict get $b name]],\"validated\":[dict get $b validated],\
            \"saved\":[dict get $b saved],\"addressed\":[dict get $b addressed],\
            \"automation\":[json [dict get $b automation] dict]}"
    }
    set runs {}
    dict for {r rd} [st runs] {
        lappend runs "[json $r]:[json $rd dict]"
    }
    set fileset "{}"
    if {[dict exists $objs fileset:sources_1]} {
        set fileset [json [dict get $objs fileset:sources_1] dict]
    }
    set out "{\"error\":[json $error],\"projects\":{[join $projects ,]},\
        \"params\":[json [st params] dict],\"core\":$core,\"bd\":$bd,\
        \"cells\":{[join $cells ,]},\"nets\":[json [st nets] lists],\
        \"intf_nets\":[json [st intf_nets] lists],\"runs\":{[join $runs ,]},\
        \"addresses\":[json [st addresses] lists],\
        \"reports\":[json [st reports] dict],\"sources_1\":$fileset,\
        \"commands\":[json $::mock::cmdlog lists]}"
    set fh [open $::env(ZIPML_MOCK_STATE) w]
    puts $fh $out
    close $fh
}

set ::mock::cmdlog {}
