// Types shared by the RTL TLB (vmsim_tlb) and its co-simulation: widths, page sizes, operations,
// replacement policies and permission bits. Encodings match the SystemC model (models/mmu/tlb_array.hpp).
package vmsim_tlb_pkg;

  // x86-64: 64-bit virtual addresses, 52-bit physical addresses, 4 KiB base pages, 9 VPN bits per
  // page-table level, PCIDs of at most 12 bits (CR3[11:0]).
  localparam int unsigned VaWidth      = 64;
  localparam int unsigned PaWidth      = 52;
  localparam int unsigned PageShift    = 12;
  localparam int unsigned VpnWidth     = VaWidth - PageShift;
  localparam int unsigned PfnWidth     = PaWidth - PageShift;
  localparam int unsigned LevelBits    = 9;
  localparam int unsigned MaxPcidWidth = 12;
  localparam int unsigned NumPageSizes = 3;
  // Port widths (the model's limits: at most 2^20 entries, PLRU at most 64 ways).
  localparam int unsigned MaxEntries    = 1 << 20;
  localparam int unsigned MaxWays       = 64;
  localparam int unsigned MaxSetWidth   = 20;
  localparam int unsigned MaxWayWidth   = 6;
  localparam int unsigned MaxCountWidth = 21;

  // Page size of an entry; the value is the model's size_index (log2 of the 4 KiB pages in it / 9).
  typedef enum logic [1:0] {
    Page4K = 2'd0,
    Page2M = 2'd1,
    Page1G = 2'd2
  } page_size_e;

  // Operations of the request channel. The INV* forms follow tlb_array.hpp: OpInvlpg is INVLPG (leaf
  // page contains the address; global or of the PCID), OpInvAddr is INVPCID type 0 (leaf page contains
  // the address; non-global of the PCID), OpInvPcid type 1, OpFlushAll type 2, OpFlushNonGlobal type 3.
  typedef enum logic [2:0] {
    OpLookup         = 3'd0,
    OpFill           = 3'd1,
    OpInvlpg         = 3'd2,
    OpInvAddr        = 3'd3,
    OpInvPcid        = 3'd4,
    OpFlushNonGlobal = 3'd5,
    OpFlushAll       = 3'd6
  } tlb_op_e;

  // Victim choice in a full set (models/mmu/replacement.hpp): true LRU, tree pseudo-LRU, FIFO.
  typedef enum int unsigned {
    ReplLru  = 0,
    ReplPlru = 1,
    ReplFifo = 2
  } repl_e;

  // Effective permissions of a translation, as the walker reports them.
  typedef struct packed {
    logic write;
    logic user;
    logic no_exec;
    logic dirty;
  } tlb_perm_t;

  // Request operands other than the addresses (vpn and pfn have their own ports). Lookups and
  // invalidations read op and pcid; fills read every field.
  typedef struct packed {
    tlb_op_e                 op;
    logic [MaxPcidWidth-1:0] pcid;
    page_size_e              size;       // entry size
    page_size_e              leaf_size;  // size of the page-table leaf (> size for a splinter)
    logic                    is_global;
    tlb_perm_t               perm;
  } tlb_req_t;

  // Response fields other than the entry's vpn, pfn and the removal counts. Lookup: hit, set, way and
  // the entry that hit. Fill: set, way, replaced or evicted, duplicates dropped and, if evicted, the
  // entry displaced. Fields an operation does not produce are 0.
  typedef struct packed {
    logic                    hit;
    logic                    replaced;   // fill: the same page was overwritten in place
    logic                    evicted;    // fill: a valid entry of another page was displaced
    logic [MaxWayWidth-1:0]  dropped;    // fill: further entries of the same page removed
    logic [MaxSetWidth-1:0]  set_index;
    logic [MaxWayWidth-1:0]  way;
    page_size_e              size;
    page_size_e              leaf_size;
    logic                    is_global;
    tlb_perm_t               perm;
    logic [MaxPcidWidth-1:0] pcid;
  } tlb_rsp_t;

  // Entries removed by an invalidation, per page size (index 0 4 KiB, 1 2 MiB, 2 1 GiB).
  typedef logic [NumPageSizes-1:0][MaxCountWidth-1:0] tlb_removed_t;

  // VPN bits that name a page of size s: all but the low LevelBits * s (a 2 MiB page ignores 9 bits of
  // the 4 KiB VPN, a 1 GiB page 18).
  function automatic logic [VpnWidth-1:0] page_mask(page_size_e s);
    return {VpnWidth{1'b1}} << (LevelBits * int'(s));
  endfunction

endpackage
