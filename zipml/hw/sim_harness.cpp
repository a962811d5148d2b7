// ZipML-PYNQ: C++ harness around the Verilated engine (zipml/hw/sim.py builds and loads it).
//
// Clocks the model of zipml_sgd_engine (ENGINE.md section 9) and plays the parts of the board
// around it: an AXI4-Lite master (register reads/writes), an AXI DMA MM2S channel (streams 64-bit
// words from a host buffer, tlast on the last word of each transfer) and an S2MM channel
// (collects 32-bit words into a host buffer until tlast or until the buffer is full). Like the
// AXI DMA in simple mode, a channel with no transfer programmed is idle: MM2S drives no data,
// S2MM holds tready low. The host polls with zs_run(), which clocks until a condition holds or a
// cycle budget is spent. Exported with C linkage for cffi (ABI mode).
#include <cstdint>
#include <cstring>
#include "Vzipml_sgd_engine.h"
#include "verilated.h"

namespace {

struct Sim {
    VerilatedContext* ctx;
    Vzipml_sgd_engine* m;
    uint64_t cycles;
    // MM2S channel
    const uint64_t* mm2s_ptr;
    uint64_t mm2s_len, mm2s_pos;
    int mm2s_busy;
    // S2MM channel
    uint32_t* s2mm_ptr;
    uint64_t s2mm_len, s2mm_pos;
    int s2mm_busy, s2mm_tlast;
    // fault injection / back-pressure
    int s2mm_block;          // 1: S2MM never ready (a stuck DMA)
    uint32_t mm2s_gap;       // MM2S idles mm2s_gap cycles after every word (0 = full rate)
    uint32_t mm2s_gap_left;
    // AXI4-Lite master state
    int aw_pend, w_pend, b_done, ar_pend, r_done;
    uint32_t r_data, b_resp, r_resp;
};

inline void drive(Sim* s) {
    Vzipml_sgd_engine* m = s->m;
    if (s->mm2s_busy && s->mm2s_gap_left == 0) {
        m->s_axis_tvalid = 1;
        m->s_axis_tdata = s->mm2s_ptr[s->mm2s_pos];
        m->s_axis_tlast = (s->mm2s_pos + 1 == s->mm2s_len);
    } else {
        m->s_axis_tvalid = 0;
        m->s_axis_tlast = 0;
    }
    m->m_axis_tready = (s->s2mm_busy && !s->s2mm_block) ? 1 : 0;
    m->s_axi_awvalid = s->aw_pend;
    m->s_axi_wvalid = s->w_pend;
    m->s_axi_bready = 1;
    m->s_axi_arvalid = s->ar_pend;
    m->s_axi_rready = 1;
}

// One clock cycle: settle the inputs with aclk low, sample the handshakes, rising edge.
inline void step(Sim* s) {
    Vzipml_sgd_engine* m = s->m;
    drive(s);
    m->aclk = 0;
    m->eval();
    const bool s_fire = m->s_axis_tvalid && m->s_axis_tready;
    const bool m_fire = m->m_axis_tvalid && m->m_axis_tready;
    const uint32_t m_data = m->m_axis_tdata;
    const bool m_last = m->m_axis_tlast;
    const bool aw_fire = m->s_axi_awvalid && m->s_axi_awready;
    const bool w_fire = m->s_axi_wvalid && m->s_axi_wready;
    const bool b_fire = m->s_axi_bvalid;  // bready = 1
    const bool ar_fire = m->s_axi_arvalid && m->s_axi_arready;
    const bool r_fire = m->s_axi_rvalid;  // rready = 1
    const uint32_t r_data = m->s_axi_rdata;
    const uint32_t r_resp = m->s_axi_rresp;
    const uint32_t b_resp = m->s_axi_bresp;
    m->aclk = 1;
    m->eval();
    ++s->cycles;
    if (s->mm2s_gap_left) --s->mm2s_gap_left;
    if (s_fire) {
        s->mm2s_gap_left = s->mm2s_gap;
        if (++s->mm2s_pos == s->mm2s_len) s->mm2s_busy = 0;
    }
    if (m_fire) {
        s->s2mm_ptr[s->s2mm_pos++] = m_data;
        if (m_last || s->s2mm_pos == s->s2mm_len) {
            s->s2mm_busy = 0;
            s->s2mm_tlast = m_last;
        }
    }
    if (aw_fire) s->aw_pend = 0;
    if (w_fire) s->w_pend = 0;
    if (b_fire && !s->aw_pend && !s->w_pend) { s->b_done = 1; s->b_resp = b_resp; }
    if (ar_fire) s->ar_pend = 0;
    if (r_fire && !s->ar_pend) { s->r_done = 1; s->r_data = r_data; s->r_resp = r_resp; }
}

}  // namespace

extern "C" {

void* zs_new(void) {
    Sim* s = new Sim;
    std::memset(static_cast<void*>(s), 0, sizeof(Sim));
    s->ctx = new VerilatedContext;
    s->m = new Vzipml_sgd_engine(s->ctx);
    Vzipml_sgd_engine* m = s->m;
    m->s_axi_awprot = 0;
    m->s_axi_arprot = 0;
    m->s_axi_wstrb = 0xF;
    m->aresetn = 0;
    for (int i = 0; i < 16; ++i) step(s);
    m->aresetn = 1;
    for (int i = 0; i < 4; ++i) step(s);
    s->cycles = 0;
    return s;
}

void zs_free(void* p) {
    Sim* s = static_cast<Sim*>(p);
    if (!s) return;
    s->m->final();
    delete s->m;
    delete s->ctx;
    delete s;
}

// Bus reset (aresetn low for `n` cycles); the DMA models go idle.
void zs_reset(void* p, uint32_t n) {
    Sim* s = static_cast<Sim*>(p);
    s->mm2s_busy = s->s2mm_busy = 0;
    s->aw_pend = s->w_pend = s->ar_pend = 0;
    s->m->aresetn = 0;
    for (uint32_t i = 0; i < n; ++i) step(s);
    s->m->aresetn = 1;
    step(s);
}

// AXI4-Lite write; returns 0 = OKAY, 1..3 = BRESP, -1 = no response within `limit` cycles.
int zs_write(void* p, uint32_t addr, uint32_t data, uint32_t strb, uint32_t limit) {
    Sim* s = static_cast<Sim*>(p);
    Vzipml_sgd_engine* m = s->m;
    m->s_axi_awaddr = addr;
    m->s_axi_wdata = data;
    m->s_axi_wstrb = strb;
    s->aw_pend = s->w_pend = 1;
    s->b_done = 0;
    for (uint32_t i = 0; i < limit; ++i) {
        step(s);
        if (s->b_done) { s->b_done = 0; return static_cast<int>(s->b_resp); }
    }
    s->aw_pend = s->w_pend = 0;
    return -1;
}

// AXI4-Lite read into *data; returns 0 = OKAY, 1..3 = RRESP, -1 = no response within `limit`.
int zs_read(void* p, uint32_t addr, uint32_t* data, uint32_t limit) {
    Sim* s = static_cast<Sim*>(p);
    s->m->s_axi_araddr = addr;
    s->ar_pend = 1;
    s->r_done = 0;
    for (uint32_t i = 0; i < limit; ++i) {
        step(s);
        if (s->r_done) { s->r_done = 0; *data = s->r_data; return static_cast<int>(s->r_resp); }
    }
    s->ar_pend = 0;
    return -1;
}

// Program the MM2S channel: stream `n` words from `ptr`, tlast on the last.
void zs_mm2s_start(void* p, const uint64_t* ptr, uint64_t n) {
    Sim* s = static_cast<Sim*>(p);
    s->mm2s_ptr = ptr;
    s->mm2s_len = n;
    s->mm2s_pos = 0;
    s->mm2s_busy = n > 0;
}

// Program the S2MM channel: accept up to `n` words into `ptr`, complete on tlast.
void zs_s2mm_start(void* p, uint32_t* ptr, uint64_t n) {
    Sim* s = static_cast<Sim*>(p);
    s->s2mm_ptr = ptr;
    s->s2mm_len = n;
    s->s2mm_pos = 0;
    s->s2mm_tlast = 0;
    s->s2mm_busy = n > 0;
}

// Abandon both channels (the host's DMA reset).
void zs_dma_reset(void* p) {
    Sim* s = static_cast<Sim*>(p);
    s->mm2s_busy = s->s2mm_busy = 0;
    s->mm2s_gap_left = 0;
}

// Clock until the condition holds or `max_cycles` have run. cond bit 0: MM2S idle, bit 1: S2MM
// idle, bit 2: never (clock exactly max_cycles). Returns 0 when the condition holds, 1 on
// time-out.
int zs_run(void* p, uint64_t max_cycles, uint32_t cond) {
    Sim* s = static_cast<Sim*>(p);
    for (uint64_t i = 0;; ++i) {
        const bool ok = !(cond & 4) && (!(cond & 1) || !s->mm2s_busy) && (!(cond & 2) || !s->s2mm_busy);
        if (ok) return 0;
        if (i >= max_cycles) return 1;
        step(s);
    }
}

void zs_set_faults(void* p, int s2mm_block, uint32_t mm2s_gap) {
    Sim* s = static_cast<Sim*>(p);
    s->s2mm_block = s2mm_block;
    s->mm2s_gap = mm2s_gap;
}

uint64_t zs_cycles(void* p) { return static_cast<Sim*>(p)->cycles; }
int zs_mm2s_busy(void* p) { return static_cast<Sim*>(p)->mm2s_busy; }
int zs_s2mm_busy(void* p) { return static_cast<Sim*>(p)->s2mm_busy; }
uint64_t zs_mm2s_done(void* p) { return static_cast<Sim*>(p)->mm2s_pos; }
uint64_t zs_s2mm_done(void* p) { return static_cast<Sim*>(p)->s2mm_pos; }
int zs_s2mm_tlast(void* p) { return static_cast<Sim*>(p)->s2mm_tlast; }

}  // extern "C"
