// Set-associative TLB with PCIDs, global pages, 4 KiB / 2 MiB / 1 GiB pages and LRU / tree-PLRU / FIFO
// replacement, bit-exact with the SystemC model's TlbArray (models/mmu/tlb_array.hpp, replacement.hpp).
//
// Interface: one request per cycle on a valid/ready channel; its result is registered and offered on the
// response channel from the next cycle, held until taken (rsp_ready_i). A request is accepted while the
// response register is empty or being emptied, so a requester that always takes responses gets one
// operation per cycle.
//
// Rules (those of tlb_array.hpp):
//  * Indexing: at page size s the tag is vpn >> 9*s and the set its low bits. A lookup probes the set of
//    every held size; the first hit in the order 4K, 2M, 1G wins, then the lowest way.
//  * Match: valid, same size, same tag, and global or same PCID.
//  * Fill victim: the way already holding the page (same size and tag, and same PCID or either side
//    global) is overwritten and any further such ways are dropped; else the lowest invalid way; else the
//    replacement policy's victim. A fill counts as an access of its way.
//  * Invalidations compare every entry at once. Address forms match the entry's page-table leaf page
//    (leaf_size), so splinters of a large page are removed wherever they sit. They leave replacement
//    state alone.
//  * Replacement state per set. LRU and FIFO: a rank per way (0 = most recent / newest); an access moves
//    the way to rank 0 and ages the ways that were more recent; the victim has rank Ways-1. Reset ranks
//    are Ways-1-w, so untouched ways are the oldest and the lowest of them goes first (the model's stamp
//    ties). LRU ranks move on hits and fills, FIFO ranks on fills only. PLRU: Ways-1 tree bits; node n
//    has children 2n+1 (lower ways) and 2n+2 (higher); a bit of 1 points the victim right; an access sets
//    the bits on the way's path to point away from it.
module vmsim_tlb
  import vmsim_tlb_pkg::*;
#(
  parameter int unsigned Entries     = 64,
  parameter int unsigned Ways        = 4,
  parameter int unsigned PcidWidth   = 12,
  // Page sizes held: bit 0 4 KiB, bit 1 2 MiB, bit 2 1 GiB (the model's PageSizeMask).
  parameter logic [2:0]  PageSizes   = 3'b111,
  // A repl_e value (an int so that verilator -G can set it).
  parameter int unsigned Replacement = ReplLru
) (
  input  logic                clk_i,
  input  logic                rst_ni,

  // Request: vpn is va[63:12] (lookups, address invalidations) or the entry's first 4 KiB page (fills).
  input  logic                req_valid_i,
  output logic                req_ready_o,
  input  tlb_req_t            req_i,
  input  logic [VpnWidth-1:0] req_vpn_i,
  input  logic [PfnWidth-1:0] req_pfn_i,

  // Response: vpn and pfn of the entry in rsp_o (lookup hit, fill eviction), entries removed by an
  // invalidation.
  output logic                rsp_valid_o,
  input  logic                rsp_ready_i,
  output tlb_rsp_t            rsp_o,
  output logic [VpnWidth-1:0] rsp_vpn_o,
  output logic [PfnWidth-1:0] rsp_pfn_o,
  output tlb_removed_t        rsp_removed_o
);

  localparam int unsigned Sets       = Entries / Ways;
  localparam int unsigned SetWidth   = Sets > 1 ? $clog2(Sets) : 1;
  localparam int unsigned WayWidth   = Ways > 1 ? $clog2(Ways) : 1;
  localparam int unsigned IndexWidth = Entries > 1 ? $clog2(Entries) : 1;
  localparam int unsigned CountWidth = $clog2(Entries + 1);
  localparam int unsigned PlruLevels = $clog2(Ways);
  localparam int unsigned ReplWidth  = Replacement == ReplPlru ? (Ways > 1 ? Ways - 1 : 1)
                                                               : Ways * WayWidth;

  typedef logic [ReplWidth-1:0]  repl_t;
  typedef logic [IndexWidth-1:0] index_t;  // entry number: set * Ways + way
  typedef logic [SetWidth-1:0]   set_t;
  typedef logic [WayWidth-1:0]   way_t;
  typedef logic [PcidWidth-1:0]  pcid_t;

  ///////////////
  // Functions //
  ///////////////

  function automatic index_t entry_index(set_t set, int unsigned way);
    return IndexWidth'(int'(set) * Ways + way);
  endfunction

  // Set of the page of size s containing vpn: the low bits of vpn >> 9*s.
  function automatic set_t set_of(logic [VpnWidth-1:0] vpn, page_size_e s);
    if (Sets == 1) return '0;
    return SetWidth'(vpn >> (LevelBits * int'(s)));
  endfunction

  // True if vpn lies in the page of size s that starts at base.
  function automatic logic in_page(logic [VpnWidth-1:0] base, page_size_e s, logic [VpnWidth-1:0] vpn);
    return ((base ^ vpn) & page_mask(s)) == '0;
  endfunction

  function automatic way_t rank_of(repl_t st, way_t way);
    return st[int'(way) * WayWidth +: WayWidth];
  endfunction

  function automatic repl_t repl_reset();
    repl_t st;
    st = '0;
    if (Replacement != ReplPlru) begin
      for (int unsigned w = 0; w < Ways; w++) st[w * WayWidth +: WayWidth] = WayWidth'(Ways - 1 - w);
    end
    return st;
  endfunction

  // State after an access (hit or fill) of way.
  function automatic repl_t repl_touch(repl_t st, way_t way);
    repl_t       nx;
    int unsigned node;
    logic        right;
    way_t        rank;
    nx = st;
    if (Replacement == ReplPlru) begin
      node = 0;
      for (int level = 0; level < int'(PlruLevels); level++) begin
        right = way[int'(PlruLevels) - 1 - level];
`ifdef VMSIM_TLB_BUG_PLRU
        // Injected bug: the bit next to the leaves is never updated.
        if (level + 1 < int'(PlruLevels)) nx[node] = ~right;
`else
        nx[node] = ~right;
`endif
        node = 2 * node + 1 + 32'(right);
      end
    end else begin
      rank = rank_of(st, way);
      for (int unsigned w = 0; w < Ways; w++) begin
        if (rank_of(st, WayWidth'(w)) < rank) begin
          nx[w * WayWidth +: WayWidth] = rank_of(st, WayWidth'(w)) + 1'b1;
        end
      end
      nx[int'(way) * WayWidth +: WayWidth] = '0;
    end
    return nx;
  endfunction

  // The way to evict from a full set.
  function automatic way_t repl_victim(repl_t st);
    way_t        victim;
    int unsigned node;
    logic        right;
    victim = '0;
    if (Replacement == ReplPlru) begin
      node = 0;
      for (int level = 0; level < int'(PlruLevels); level++) begin
        right  = st[node];
        victim = (victim << 1) | WayWidth'(right);
        node   = 2 * node + 1 + 32'(right);
      end
    end else begin
      for (int unsigned w = 0; w < Ways; w++) begin
        if (rank_of(st, WayWidth'(w)) == WayWidth'(Ways - 1)) victim = WayWidth'(w);
      end
    end
    return victim;
  endfunction

  ///////////
  // State //
  ///////////

  // Entry storage, one array per field (flops; no reset: valid_q qualifies each entry). Separate arrays
  // rather than one array of structs keep every field a native word in the Verilated model.
  logic [VpnWidth-1:0] vpn_q       [Entries];
  logic [PfnWidth-1:0] pfn_q       [Entries];
  page_size_e          size_q      [Entries];
  page_size_e          leaf_size_q [Entries];
  pcid_t               pcid_q      [Entries];
  tlb_perm_t           perm_q      [Entries];
  logic [Entries-1:0]  global_q;
  logic [Entries-1:0]  valid_q, valid_d;
  repl_t               repl_q      [Sets];
  repl_t               repl_d;

  logic                rsp_valid_q, rsp_valid_d;
  tlb_rsp_t            rsp_q, rsp_d;
  logic [VpnWidth-1:0] rsp_vpn_q, rsp_vpn_d;
  logic [PfnWidth-1:0] rsp_pfn_q, rsp_pfn_d;
  tlb_removed_t        rsp_removed_q, rsp_removed_d;

  logic  req_accept;
  pcid_t req_pcid;
  assign req_ready_o = ~rsp_valid_q | rsp_ready_i;
  assign req_accept  = req_valid_i & req_ready_o;
  assign req_pcid    = req_i.pcid[PcidWidth-1:0];

  if (PcidWidth < MaxPcidWidth) begin : gen_pcid_unused
    // PCID bits above PcidWidth are 0 (checked below).
    logic unused_pcid_bits;
    assign unused_pcid_bits = ^req_i.pcid[MaxPcidWidth-1:PcidWidth];
  end

  ////////////
  // Lookup //
  ////////////

  logic                                  lookup_hit;
  set_t                                  lookup_set;
  way_t                                  lookup_way;
  logic [NumPageSizes-1:0][Ways-1:0]     lookup_match;
  logic [NumPageSizes-1:0][SetWidth-1:0] probe_set;

  always_comb begin : p_lookup
    index_t i;
    i            = '0;
    lookup_hit   = 1'b0;
    lookup_set   = '0;
    lookup_way   = '0;
    lookup_match = '0;
    probe_set    = '0;
    if (req_valid_i && req_i.op == OpLookup) begin
      for (int unsigned s = 0; s < NumPageSizes; s++) begin
        if (PageSizes[s]) begin
          probe_set[s] = set_of(req_vpn_i, page_size_e'(s));
          for (int unsigned w = 0; w < Ways; w++) begin
            i = entry_index(probe_set[s], w);
            lookup_match[s][w] = valid_q[i] && size_q[i] == page_size_e'(s) &&
                                 in_page(vpn_q[i], page_size_e'(s), req_vpn_i) &&
`ifdef VMSIM_TLB_BUG_GLOBAL
                                 // Injected bug: global entries match their own PCID only.
                                 pcid_q[i] == req_pcid;
`else
                                 (global_q[i] || pcid_q[i] == req_pcid);
`endif
            if (lookup_match[s][w] && !lookup_hit) begin
              lookup_hit = 1'b1;
              lookup_set = probe_set[s];
              lookup_way = WayWidth'(w);
            end
          end
        end
      end
    end
  end

  //////////
  // Fill //
  //////////

  set_t            fill_set;
  way_t            fill_way;
  index_t          fill_index;
  logic            fill_replaced;
  logic            fill_evicted;
  logic [Ways-1:0] fill_drop;     // further ways of the same page, removed
  way_t            fill_dropped;

  always_comb begin : p_fill
    logic   found_free;
    logic   same;
    way_t   same_way;
    way_t   free_way;
    index_t i;
    fill_set      = set_of(req_vpn_i, req_i.size);
    fill_way      = '0;
    fill_replaced = 1'b0;
    fill_evicted  = 1'b0;
    fill_drop     = '0;
    fill_dropped  = '0;
    found_free    = 1'b0;
    same          = 1'b0;
    same_way      = '0;
    free_way      = '0;
    i             = '0;
    if (req_valid_i && req_i.op == OpFill) begin
      for (int unsigned w = 0; w < Ways; w++) begin
        i    = entry_index(fill_set, w);
        same = valid_q[i] && size_q[i] == req_i.size && in_page(vpn_q[i], req_i.size, req_vpn_i) &&
               (global_q[i] || req_i.is_global || pcid_q[i] == req_pcid);
        if (same && fill_replaced) begin
          fill_drop[w] = 1'b1;
          fill_dropped = fill_dropped + 1'b1;
        end else if (same) begin
          fill_replaced = 1'b1;
          same_way      = WayWidth'(w);
        end
        if (!valid_q[i] && !found_free) begin
          found_free = 1'b1;
          free_way   = WayWidth'(w);
        end
      end
      fill_evicted = !fill_replaced && !found_free;
      fill_way     = fill_replaced ? same_way :
                     found_free    ? free_way : repl_victim(repl_q[fill_set]);
    end
  end

  assign fill_index = entry_index(fill_set, int'(fill_way));

  ////////////////
  // Invalidate //
  ////////////////

  logic [Entries-1:0]                    inv_mask;
  logic [NumPageSizes-1:0][CountWidth-1:0] inv_removed;

  always_comb begin : p_invalidate
    logic covers;
    logic own;
    logic hit;
    inv_mask    = '0;
    inv_removed = '0;
    covers      = 1'b0;
    own         = 1'b0;
    hit         = 1'b0;
    if (req_valid_i &&
        req_i.op inside {OpInvlpg, OpInvAddr, OpInvPcid, OpFlushNonGlobal, OpFlushAll}) begin
      for (int unsigned i = 0; i < Entries; i++) begin
        covers = in_page(vpn_q[i], leaf_size_q[i], req_vpn_i);
        own    = pcid_q[i] == req_pcid;
        unique case (req_i.op)
          OpInvlpg:         hit = covers && (global_q[i] || own);
          OpInvAddr:        hit = covers && !global_q[i] && own;
          OpInvPcid:        hit = !global_q[i] && own;
          OpFlushNonGlobal: hit = !global_q[i];
          default:          hit = 1'b1;  // OpFlushAll
        endcase
        inv_mask[i] = valid_q[i] && hit;
        if (inv_mask[i]) inv_removed[size_q[i]] = inv_removed[size_q[i]] + 1'b1;
      end
    end
  end

  ////////////////
  // Next state //
  ////////////////

  always_comb begin : p_valid
    valid_d = valid_q;
    if (req_accept) begin
      if (req_i.op == OpFill) begin
        for (int unsigned w = 0; w < Ways; w++) begin
          if (fill_drop[w]) valid_d[entry_index(fill_set, w)] = 1'b0;
        end
        valid_d[fill_index] = 1'b1;
      end else begin
        valid_d = valid_q & ~inv_mask;
      end
    end
  end

  logic repl_we;
  set_t repl_set;
  way_t repl_way;

  always_comb begin : p_replacement
    repl_we  = 1'b0;
    repl_set = '0;
    repl_way = '0;
    repl_d   = '0;
    if (req_accept && req_i.op == OpFill) begin
      repl_we  = 1'b1;
      repl_set = fill_set;
      repl_way = fill_way;
    end else if (req_accept && lookup_hit && Replacement != ReplFifo) begin
      repl_we  = 1'b1;
      repl_set = lookup_set;
      repl_way = lookup_way;
    end
    if (repl_we) repl_d = repl_touch(repl_q[repl_set], repl_way);
  end

  logic entry_we;
  assign entry_we = req_accept && req_i.op == OpFill;

  always_comb begin : p_response
    index_t i;
    logic   has_entry;
    rsp_d         = '0;
    rsp_vpn_d     = '0;
    rsp_pfn_d     = '0;
    rsp_removed_d = '0;
    i             = '0;
    has_entry     = 1'b0;
    unique case (req_i.op)
      OpLookup: begin
        rsp_d.hit       = lookup_hit;
        rsp_d.set_index = MaxSetWidth'(lookup_set);
        rsp_d.way       = MaxWayWidth'(lookup_way);
        i               = entry_index(lookup_set, int'(lookup_way));
        has_entry       = lookup_hit;
      end
      OpFill: begin
        rsp_d.replaced  = fill_replaced;
        rsp_d.evicted   = fill_evicted;
        rsp_d.dropped   = MaxWayWidth'(fill_dropped);
        rsp_d.set_index = MaxSetWidth'(fill_set);
        rsp_d.way       = MaxWayWidth'(fill_way);
        i               = fill_index;
        has_entry       = fill_evicted;
      end
      default: begin
        for (int unsigned s = 0; s < NumPageSizes; s++) rsp_removed_d[s] = MaxCountWidth'(inv_removed[s]);
      end
    endcase
    if (has_entry) begin
      rsp_d.size      = size_q[i];
      rsp_d.leaf_size = leaf_size_q[i];
      rsp_d.is_global = global_q[i];
      rsp_d.perm      = perm_q[i];
      rsp_d.pcid      = MaxPcidWidth'(pcid_q[i]);
      rsp_vpn_d       = vpn_q[i];
      rsp_pfn_d       = pfn_q[i];
    end
  end

  assign rsp_valid_d = req_accept | (rsp_valid_q & ~rsp_ready_i);

  ///////////////
  // Registers //
  ///////////////

  always_ff @(posedge clk_i or negedge rst_ni) begin : p_regs
    if (!rst_ni) begin
      valid_q       <= '0;
      rsp_valid_q   <= 1'b0;
      rsp_q         <= '0;
      rsp_vpn_q     <= '0;
      rsp_pfn_q     <= '0;
      rsp_removed_q <= '0;
      for (int unsigned s = 0; s < Sets; s++) repl_q[s] <= repl_reset();
    end else begin
      valid_q     <= valid_d;
      rsp_valid_q <= rsp_valid_d;
      if (req_accept) begin
        rsp_q         <= rsp_d;
        rsp_vpn_q     <= rsp_vpn_d;
        rsp_pfn_q     <= rsp_pfn_d;
        rsp_removed_q <= rsp_removed_d;
      end
      if (repl_we) repl_q[repl_set] <= repl_d;
    end
  end

  always_ff @(posedge clk_i) begin : p_entries
    if (entry_we) begin
      vpn_q[fill_index]       <= req_vpn_i;
      pfn_q[fill_index]       <= req_pfn_i;
      size_q[fill_index]      <= req_i.size;
      leaf_size_q[fill_index] <= req_i.leaf_size;
      pcid_q[fill_index]      <= req_pcid;
      perm_q[fill_index]      <= req_i.perm;
      global_q[fill_index]    <= req_i.is_global;
    end
  end

  assign rsp_valid_o   = rsp_valid_q;
  assign rsp_o         = rsp_q;
  assign rsp_vpn_o     = rsp_vpn_q;
  assign rsp_pfn_o     = rsp_pfn_q;
  assign rsp_removed_o = rsp_removed_q;

  ///////////////////
  // Sanity checks //
  ///////////////////

`ifndef SYNTHESIS
  // True if the ranks of st are a permutation of 0..Ways-1 (LRU / FIFO).
  function automatic logic ranks_are_permutation(repl_t st);
    logic [Ways-1:0] seen;
    seen = '0;
    for (int unsigned w = 0; w < Ways; w++) seen[rank_of(st, WayWidth'(w))] = 1'b1;
    return &seen;
  endfunction

  initial begin : p_parameter_checks
    assert (Ways >= 1 && Ways <= MaxWays && Entries % Ways == 0 && Entries <= MaxEntries)
      else $fatal(1, "vmsim_tlb: need 1 <= Ways (%0d) <= %0d dividing Entries (%0d) <= %0d", Ways,
                  MaxWays, Entries, MaxEntries);
    assert ((Sets & (Sets - 1)) == 0)
      else $fatal(1, "vmsim_tlb: Entries / Ways (%0d) must be a power of two", Sets);
    assert (Replacement inside {ReplLru, ReplPlru, ReplFifo})
      else $fatal(1, "vmsim_tlb: Replacement (%0d) is not a repl_e value", Replacement);
    assert (Replacement != ReplPlru || (Ways & (Ways - 1)) == 0)
      else $fatal(1, "vmsim_tlb: tree-PLRU needs a power-of-two Ways, got %0d", Ways);
    assert (PcidWidth >= 1 && PcidWidth <= MaxPcidWidth)
      else $fatal(1, "vmsim_tlb: PcidWidth (%0d) must be 1..%0d", PcidWidth, MaxPcidWidth);
    assert (PageSizes != 3'b000) else $fatal(1, "vmsim_tlb: PageSizes holds no page size");
  end

  // History for the handshake checks: whether a request or a response waited at the last rising edge,
  // and what it was.
  logic                req_waited_q, rsp_waited_q;
  tlb_req_t            req_last_q;
  logic [VpnWidth-1:0] req_vpn_last_q, rsp_vpn_last_q;
  logic [PfnWidth-1:0] req_pfn_last_q, rsp_pfn_last_q;
  tlb_rsp_t            rsp_last_q;
  tlb_removed_t        rsp_removed_last_q;

  // Checks run from the first edge after reset (a flop, so rst_ni stays purely asynchronous).
  logic                checking_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin : p_sanity_waited
    if (!rst_ni) begin
      req_waited_q <= 1'b0;
      rsp_waited_q <= 1'b0;
      checking_q   <= 1'b0;
    end else begin
      req_waited_q <= req_valid_i && !req_ready_o;
      rsp_waited_q <= rsp_valid_o && !rsp_ready_i;
      checking_q   <= 1'b1;
    end
  end

  always_ff @(posedge clk_i) begin : p_sanity_last
    req_last_q         <= req_i;
    req_vpn_last_q     <= req_vpn_i;
    req_pfn_last_q     <= req_pfn_i;
    rsp_last_q         <= rsp_o;
    rsp_vpn_last_q     <= rsp_vpn_o;
    rsp_pfn_last_q     <= rsp_pfn_o;
    rsp_removed_last_q <= rsp_removed_o;
  end

  // Immediate assertions at the rising edge, on exactly the values the registers sample. (The wrapper
  // may change inputs in the same evaluation as the edge; Verilator settles input-driven logic before
  // clocked processes, but its sampled values for concurrent assertions would be one evaluation old.)
  always_ff @(posedge clk_i) begin : p_sanity_checks
    if (checking_q) begin
      // Requester: a request that waited for ready is still there, unchanged.
      if (req_waited_q) begin
        a_req_stable: assert (req_valid_i && req_i == req_last_q && req_vpn_i == req_vpn_last_q &&
                              req_pfn_i == req_pfn_last_q)
          else $error("vmsim_tlb: request withdrawn or changed while waiting for ready");
      end
      // A response that was not taken is held.
      if (rsp_waited_q) begin
        a_rsp_stable: assert (rsp_valid_o && rsp_o == rsp_last_q && rsp_vpn_o == rsp_vpn_last_q &&
                              rsp_pfn_o == rsp_pfn_last_q && rsp_removed_o == rsp_removed_last_q)
          else $error("vmsim_tlb: response changed before it was taken");
      end
      if (req_valid_i) begin
        a_op_known: assert (req_i.op inside {OpLookup, OpFill, OpInvlpg, OpInvAddr, OpInvPcid,
                                             OpFlushNonGlobal, OpFlushAll})
          else $error("vmsim_tlb: unknown operation %0d", req_i.op);
        a_pcid_width: assert ((req_i.pcid >> PcidWidth) == '0)
          else $error("vmsim_tlb: PCID 0x%0h wider than %0d bits", req_i.pcid, PcidWidth);
      end
      // Fill contract (TlbArray::fill): a held size, vpn and pfn aligned to it, leaf_size a size >= size.
      if (req_valid_i && req_i.op == OpFill) begin
        a_fill_legal: assert (req_i.size != 2'd3 && req_i.leaf_size != 2'd3 && PageSizes[req_i.size] &&
                              req_i.leaf_size >= req_i.size && (req_vpn_i & ~page_mask(req_i.size)) == '0 &&
                              (req_pfn_i & ~PfnWidth'(page_mask(req_i.size))) == '0)
          else $error("vmsim_tlb: illegal fill (size %0d, leaf %0d, vpn 0x%0h, pfn 0x%0h)", req_i.size,
                      req_i.leaf_size, req_vpn_i, req_pfn_i);
      end
      // Fills keep every page unique within a set, so at most one way matches at each size.
      for (int unsigned s = 0; s < NumPageSizes; s++) begin
        a_unique_match: assert ($onehot0(lookup_match[s]))
          else $error("vmsim_tlb: several ways match at page size %0d", s);
      end
      // A fill that evicts found the set full.
      if (req_accept && fill_evicted) begin
        a_evict_full: assert (&valid_q[entry_index(fill_set, 0) +: Ways])
          else $error("vmsim_tlb: eviction from a set with a free way");
      end
      // LRU / FIFO ranks of the set written stay a permutation of 0..Ways-1.
      if (Replacement != ReplPlru && repl_we) begin
        a_ranks_permutation: assert (ranks_are_permutation(repl_d))
          else $error("vmsim_tlb: replacement ranks of set %0d are not a permutation", repl_set);
      end
    end
  end
`endif

endmodule
