# tclsh tests/tcl/run_mock.tcl <script.tcl> [script arguments...]
#
# Sources the strict Vivado mock, then <script.tcl> with ::argv set to the remaining arguments
# (as `vivado -mode batch -source <script.tcl> -tclargs ...` does), and writes the mock's state
# to $env(ZIPML_MOCK_STATE). Exit status 1 and the error on stderr if the script fails.

source [file join [file dirname [file normalize [info script]]] vivado_mock.tcl]

set _script [file normalize [lindex $::argv 0]]
set ::argv [lrange $::argv 1 end]
set ::argc [llength $::argv]
if {[catch {uplevel #0 [list source $_script]} _err]} {
    mock::dump_state $_err
    puts stderr $_err
    exit 1
}
mock::dump_state
exit 0
