// The catalogue list, first part, included by catalogue.rs (which documents the fields and
// keeps the `BugId` enum and the table generated from this one list). The list goes on in
// catalogue_list_ii.rs, whose macro appends its entries to these; new entries go at its end.

catalogue_second_part! {
    /// `free_aer` without the `ctrlr` guard (SPDK #3302).
    Spdk3302 {
        name: "spdk-3302",
        title: "free_aer dereferences a NULL controller",
        fix_commit: "6c23277d0a0da4ce2a67501434b7ec0339c361cb",
        issue: "https://github.com/spdk/spdk/issues/3302",
        last_buggy: "v24.01",
        first_fixed: "v24.05",
        invariant: InvariantId::I1,
        site: "free_aer",
        spdk: Spdk::V24_01,
        summary: "nvmf_qpair_free_aer dereferences a NULL controller: every pre-CONNECT qpair \
                  has qid 0, so it 'is the admin queue', and the guard on qpair->ctrlr was \
                  missing",
        window: "(a) retry mode: pause(S) reaches the PG after an admin CONNECT to S was \
                 admitted and parked on qpair->outstanding; stop_listen_async(T, NULL) \
                 disconnects the qpair. (b) cntlid range exhausted: _nvmf_subsystem_add_ctrlr \
                 fails, sets qpair->ctrlr = NULL and sends the error completion; a disconnect \
                 on the PG runs first",
        scenarios: &["seed-3302", "seed-3302-ctrlr-add-fail"],
        versions: "up to v24.01",
        profile_note: "native to v24.01: the v24.01 profile with the switch off is v24.01 plus \
                       6c23277d0a",
        requires: &[BugId::Spdk3095],
    }
    /// A namespace pause of an already PAUSED poll group skips the drain (SPDK #3738).
    Spdk3738 {
        name: "spdk-3738",
        title: "a second namespace pause skips the drain",
        fix_commit: "d123762feb9e247f05c1c5e42845ac8eb0899dc9",
        issue: "https://github.com/spdk/spdk/issues/3738",
        last_buggy: "v26.05",
        first_fixed: "master",
        invariant: InvariantId::I7,
        site: "_nvmf_request_complete",
        spdk: Spdk::Master,
        summary: "a namespace pause of a subsystem already PAUSED returns at once (state-change \
                  fast path and poll-group early return), so the namespace is removed with I/O \
                  in flight and its counter is dropped under that I/O",
        window: "I/O to ns 2 in flight; a pause (nsid 0 or ns 1) leaves the subsystem PAUSED; \
                 remove_ns(2)'s pause(ns 2) lands on it and completes without draining ns 2. \
                 master can also queue it behind another remove; v24.01 refuses a concurrent \
                 change with -EBUSY, so there the first pause must have finished. The built-in \
                 namespace-churn runs the master profile; when ns 2 is re-added before the \
                 late completion, the counter check sees the cleared ns_info first \
                 (ns_info->io_outstanding, where 2ca0e1360e asserts)",
        scenarios: &["namespace-churn"],
        versions: "up to v26.05 (fixed after the last release)",
        profile_note: "native to v24.01, v26.05 and master before d123762feb; the switch puts the \
                       early return back. Detected in master, where the built-in \
                       namespace-churn runs: master queues overlapping state changes, so a \
                       namespace pause can land on a PAUSED subsystem; v24.01 refuses them \
                       (-EBUSY) and its window is a core test",
        more_sites: &["ns_info->io_outstanding"],
        also_shipped_in: &[Spdk::V24_01, Spdk::V26_05],
    }
    /// The stop-listen subsystem filter reads `qpair->ctrlr->subsys` of a qpair with no
    /// controller yet (SPDK #2299).
    Spdk2299Null {
        name: "spdk-2299-null",
        title: "stop-listen filter dereferences a NULL controller",
        fix_commit: "44f69b654bf425a916af3c614b96502a5595890c",
        issue: "https://github.com/spdk/spdk/issues/2299",
        last_buggy: "none",
        first_fixed: "v22.01",
        invariant: InvariantId::I1,
        site: "nvmf_stop_listen_disconnect_qpairs",
        spdk: Spdk::V24_01,
        summary: "nvmf_stop_listen_disconnect_qpairs, given a subsystem filter, tests \
                  `S == qpair->ctrlr->subsys` with no NULL check; a qpair has no controller \
                  until its CONNECT binds one (the commit text cites #2300; #2299 reports this \
                  crash)",
        window: "nvmf_subsystem_remove_listener(S, T) pauses S and stops listening on T with \
                 filter S while a qpair on T has no controller: a host that sent ICReq but not \
                 yet CONNECT (to S or any subsystem sharing T), or a CONNECT still on its way \
                 to the controller",
        scenarios: &["listener-churn"],
        versions: "none released: master 2021-12-21 (79727986e0 added the filter) .. \
                   2021-12-29 (the fix); both are first in v22.01",
        profile_note: "re-introduced: the bug never reached a release; the switch puts the \
                       pre-44f69b654b condition into the v24.01 profile, whose function has \
                       the same shape",
    }
    /// The first #2299 fix disconnects every pre-CONNECT qpair on the trid, whatever
    /// subsystem it is headed for.
    Spdk2299Precision {
        name: "spdk-2299-precision",
        title: "subsystem-scoped stop-listen disconnects pre-CONNECT qpairs of other subsystems",
        fix_commit: "2e56512236c050c49d54bba85ce6dfd460ece05f",
        issue: "none (the fix names no issue)",
        last_buggy: "v23.01",
        first_fixed: "v23.05",
        invariant: InvariantId::I11,
        site: "nvmf_stop_listen_disconnect_qpairs",
        spdk: Spdk::V24_01,
        summary: "44f69b654b made `qpair->ctrlr == NULL` match any subsystem filter, so \
                  removing listener T from S1 also tears down a connection on T that is about \
                  to CONNECT to S2 (fixed by 2e56512236: a qpair without a controller matches \
                  no subsystem filter)",
        window: "as spdk-2299-null: remove_listener(S1, T) while a host on T is between ICReq \
                 and CONNECT; with the switch on that qpair is disconnected, whatever subsystem \
                 it was going to",
        scenarios: &["listener-churn"],
        versions: "v22.01 .. v23.01",
        profile_note: "re-introduced: the bug lived before v24.01; the switch puts the \
                       44f69b654b condition into the v24.01 profile",
    }
    /// v24.01's CONNECT retry parking: a CONNECT parked for more than 1 s is failed with
    /// CONTROLLER_BUSY (SPDK #3095).
    Spdk3095 {
        name: "spdk-3095",
        title: "a CONNECT parked by a pause is failed with BUSY after 1 s",
        fix_commit: "12c640c0fa83405ba765a170813ba5c199cdfb6b",
        issue: "https://github.com/spdk/spdk/issues/3095",
        last_buggy: "v24.01",
        first_fixed: "v24.05",
        invariant: InvariantId::L1,
        site: "nvmf_ctrlr_cmd_connect",
        spdk: Spdk::V24_01,
        summary: "nvmf_ctrlr_cmd_connect parks a CONNECT to a subsystem that is not ACTIVE on a \
                  100 us retry poller (retry_connect) and answers CONTROLLER_BUSY once it has \
                  waited 1 s, so a pause longer than 1 s fails CONNECTs that only had to wait; \
                  the fix parks them on sgroup->queued and replays them on resume",
        window: "the operator pauses S for more than 1 s (a slow namespace add, an embedder \
                 holding the pause) while a host CONNECTs to S",
        scenarios: &["long-pause"],
        versions: "v21.07 .. v24.01 (every release with retry parking)",
        profile_note: "native to v24.01: the switch is v24.01's retry parking itself; with it \
                       off the v24.01 profile parks in sgroup->queued as v24.01.x does with the \
                       backport 0276a8e631. Only the v24.01 profile has the retry poller",
    }
    /// `retry_connect` bumps the counter of a deleted subsystem's sgroup (SPDK #3100).
    Spdk3100Deleted {
        name: "spdk-3100-deleted",
        title: "retry_connect after its subsystem was deleted writes through a NULL sgroup",
        fix_commit: "e1602892a1bed67b9fd4dc02461db280e116eb69",
        issue: "https://github.com/spdk/spdk/issues/3100",
        last_buggy: "v23.05",
        first_fixed: "v23.09",
        invariant: InvariantId::I1,
        site: "retry_connect",
        spdk: Spdk::V24_01,
        summary: "retry_connect looks the CONNECT's subsystem up by NQN and does \
                  `assert(sgroup != NULL); sgroup->mgmt_io_outstanding++`; once the subsystem \
                  is deleted the lookup returns NULL (if a subsystem with the same NQN was \
                  created meanwhile, the live one is found and nothing breaks)",
        window: "a CONNECT to S is parked on the retry poller (S DEACTIVATING, PAUSING or \
                 PAUSED); the operator deletes S; the next 100 us tick runs retry_connect. \
                 With every switch off the same scenario also reaches hazard \
                 H-1-queued-connect-orphaned (a CONNECT queued in sgroup->queued is never \
                 answered once S is deleted: SPDK's own behaviour, `fabcheck hazards`), which \
                 the checker treats as known, not as noise",
        scenarios: &["subsystem-delete-under-connect"],
        versions: "v21.07 .. v23.05",
        profile_note: "re-introduced: the switch drops the NULL check in the v24.01 profile's \
                       retry_connect; it requires spdk-3095 (the retry poller)",
        requires: &[BugId::Spdk3095],
    }
    /// `nvmf_subsystem_get_qpairs` reads `qpair->ctrlr->subsys` of a qpair with no controller
    /// (SPDK #3391).
    Spdk3391 {
        name: "spdk-3391",
        title: "get_qpairs dereferences a NULL controller",
        fix_commit: "1965c4ddc236f434c2d5ae50d664822ab5a3d1a4",
        issue: "https://github.com/spdk/spdk/issues/3391",
        last_buggy: "v25.01",
        first_fixed: "v25.05",
        invariant: InvariantId::I1,
        site: "rpc_nvmf_get_qpairs",
        spdk: Spdk::V24_01,
        summary: "the nvmf_subsystem_get_qpairs RPC pauses S, then visits every poll group \
                  (spdk_for_each_channel) and dumps the qpairs with `qpair->ctrlr->subsys == \
                  S`, with no NULL check: a qpair joins group->qpairs when accepted, long before \
                  CONNECT binds a controller",
        window: "the operator calls nvmf_subsystem_get_qpairs(S) while any poll group holds a \
                 qpair without a controller: a connection that sent ICReq but not CONNECT, a \
                 parked CONNECT, a failed CONNECT whose qpair lingers",
        scenarios: &["monitoring"],
        versions: "v20.10 .. v25.01",
        profile_note: "native to v24.01 (and v24.05): the v24.01 profile with the switch off is \
                       v24.01 plus 1965c4ddc2; the master profile has the fix",
    }
    /// An AER before CONNECT reads the NULL controller's subsystem (SPDK #3100).
    Spdk3100EarlyAdmin {
        name: "spdk-3100-early-admin",
        title: "an AER before CONNECT reads a NULL controller's subsystem",
        fix_commit: "e2eeafc45e72038173b79116d1bc06758504a595",
        issue: "https://github.com/spdk/spdk/issues/3100",
        last_buggy: "v23.05",
        first_fixed: "v23.09",
        invariant: InvariantId::I1,
        site: "nvmf_ctrlr_process_admin_cmd",
        spdk: Spdk::V24_01,
        summary: "nvmf_ctrlr_process_admin_cmd offsets the AER's mgmt_io_outstanding through \
                  ctrlr->subsys->id before its ctrlr == NULL check (the order 9cb5f885df, the \
                  #2215 fix, made in v22.09). The bug lived v22.09..v23.05 only: v24.01 \
                  already has the fix, so on the v24.01 profile this switch re-introduces the \
                  v23.05 order",
        window: "no race: a host completes ICReq and sends an Asynchronous Event Request on \
                 the admin queue before (or instead of) CONNECT; v24.01 admits it (the qpair \
                 is ACTIVE from poll_group_add and no sgroup is found without a controller)",
        scenarios: &["rude-host"],
        versions: "v22.09 .. v23.05",
        profile_note: "re-introduced: the bug lived before v24.01; the switch puts the v23.05 \
                       order back into the v24.01 profile",
    }
    /// I/O CONNECT checks the admin qpair before the hop to the controller thread only.
    Spdk2220 {
        name: "spdk-2220",
        title: "I/O CONNECT checks the admin qpair before the hop, not after it",
        fix_commit: "92f62deefcb514c10ea9b39440fe5a3925fd5121",
        issue: "none: a CI crash (the id follows catalogue issue #11; the fixes cite no \
                issue, first half 813869d823)",
        last_buggy: "v21.01",
        first_fixed: "v21.04",
        invariant: InvariantId::I1,
        site: "ctrlr_add_qpair_and_send_rsp",
        spdk: Spdk::V24_01,
        summary: "nvmf_ctrlr_add_io_qpair (on the admin qpair's poll group) does not re-check \
                  the admin qpair that _nvmf_ctrlr_add_io_qpair checked on the subsystem \
                  thread; ctrlr_add_qpair_and_send_rsp then asserts on \
                  ctrlr->admin_qpair->group->thread, NULL once the admin qpair left its group",
        window: "a host lets its keep-alive lapse and opens an I/O queue at about the \
                 keep-alive deadline: the expiry's disconnect fan-out is queued on the \
                 controller thread before the subsystem thread checks the admin qpair (still \
                 ACTIVE), and tears the admin qpair out of its group before \
                 nvmf_ctrlr_add_io_qpair runs",
        scenarios: &["ka-lapse-reconnect"],
        versions: "up to v21.01",
        profile_note: "re-introduced: the bug lived before v24.01; the switch drops the check \
                       after the hop in the v24.01 profile",
    }
    /// I/O CONNECT and the CC timeout use `ctrlr->admin_qpair` after its teardown finished.
    SpdkAdminQpairGone {
        name: "spdk-admin-qpair-gone",
        title: "I/O CONNECT and the CC timeout dereference a finished admin qpair",
        fix_commit: "cc2f6634b766215ac64dd478aeed5b0c085bf348",
        issue: "none: no SPDK issue (seen with ESX initiators, per the fix)",
        last_buggy: "v24.01",
        first_fixed: "v24.05",
        invariant: InvariantId::I1,
        site: "_nvmf_ctrlr_add_io_qpair",
        spdk: Spdk::V24_01,
        summary: "native in v24.01 (the profile with the switch off is v24.01 plus \
                  cc2f6634b7): since 478f652436 (v22.01) _nvmf_transport_qpair_fini_complete \
                  sets ctrlr->admin_qpair = NULL when qid 0 finishes teardown, but \
                  _nvmf_ctrlr_add_io_qpair, nvmf_ctrlr_add_io_qpair, \
                  ctrlr_add_qpair_and_send_rsp and nvmf_ctrlr_cc_timeout still dereference it \
                  while an I/O qpair keeps the controller alive",
        window: "a host with a connected I/O queue loses (or closes) only its admin \
                 connection; once the admin qpair's teardown finished it opens another I/O \
                 queue with its old cntlid. Or: a CC reset/shutdown waits for an I/O qpair \
                 whose device I/O is stuck, the admin connection dies, and the 10 s CC \
                 timeout fires (core test)",
        scenarios: &["admin-loss"],
        versions: "v22.01 .. v24.01",
        profile_note: "native to v24.01: the v24.01 profile with the switch off is v24.01 plus \
                       cc2f6634b7",
        more_sites: &[
            "nvmf_ctrlr_add_io_qpair",
            "ctrlr_add_qpair_and_send_rsp",
            "nvmf_ctrlr_cc_timeout",
        ],
    }
    /// CSTS.RDY / SHST report done while I/O queues are still connected (SPDK #2199).
    Spdk2199 {
        name: "spdk-2199",
        title: "CSTS.RDY / SHST change while I/O queues are still connected",
        fix_commit: "534e2e7c049089d67c67b7516efad68f9fbca6b4",
        issue: "https://github.com/spdk/spdk/issues/2199",
        last_buggy: "v21.07",
        first_fixed: "v21.10",
        invariant: InvariantId::I12,
        site: "_nvmf_ctrlr_cc_reset_shn_done",
        spdk: Spdk::V24_01,
        summary: "the CC reset/shutdown fan-out only starts each I/O qpair's disconnect, and \
                  nvmf_ctrlr_cc_reset_shn_done wrote CC = 0 / CSTS = 0 (or SHST = COMPLETE) \
                  at once instead of re-polling every 100 ms until the qpair mask holds only \
                  the admin queue (fixed in v22.01, backported to v21.10 as 377c115183)",
        window: "a host with connected I/O queues (I/O in flight or not) writes CC.EN = 0 or \
                 CC.SHN; the disconnect fan-out completes before the I/O qpairs' teardown \
                 reached _nvmf_ctrlr_free_from_qpair",
        scenarios: &["reset-under-io"],
        versions: "v20.04 .. v21.07",
        profile_note: "re-introduced: the bug lived before v24.01; the switch puts the \
                       immediate status write back into the v24.01 profile",
    }
    /// Stopping a PAUSED subsystem fails: no PAUSED -> DEACTIVATING edge (fa949b0c14).
    SpdkPausedDeactivate {
        name: "spdk-paused-deactivate",
        title: "stopping a PAUSED subsystem fails its state CAS",
        fix_commit: "fa949b0c14f12cebcc82c6f3a29a4546b20ee3b3",
        issue: "none (the fix names no issue; found with vfio-user live migration)",
        last_buggy: "v21.10",
        first_fixed: "v22.01",
        invariant: InvariantId::I10,
        site: "nvmf_subsystem_set_state",
        spdk: Spdk::V24_01,
        summary: "nvmf_subsystem_set_state maps DEACTIVATING to an expected old state of \
                  ACTIVE and, when the CAS fails, knows only the RESUMING -> ACTIVE, \
                  ACTIVATING -> DEACTIVATING and RESUMING -> PAUSING alternatives; stopping a \
                  PAUSED subsystem trips assert(actual_old_state == expected_old_state) (a \
                  release build fails the stop and the subsystem stays PAUSED)",
        window: "the operator pauses S and then stops or deletes it (or the target shuts \
                 down) before resuming it",
        scenarios: &["operator-sequences"],
        versions: "up to v21.10",
        profile_note: "re-introduced: the bug lived before v24.01; the switch removes the \
                       PAUSED -> DEACTIVATING edge in the v24.01 profile",
    }
    /// Subsystem delete destructs the controllers the last-qpair path destructs too
    /// (97385af196).
    SpdkDoubleDestruct {
        name: "spdk-double-destruct",
        title: "subsystem delete destroys controllers the last-qpair path also destroys",
        fix_commit: "97385af196bf271645c7158e97c53cbaf74d2f80",
        issue: "none (the fix names no issue)",
        last_buggy: "v21.07",
        first_fixed: "v21.10",
        invariant: InvariantId::I3,
        site: "_nvmf_subsystem_destroy",
        spdk: Spdk::V24_01,
        summary: "spdk_nvmf_subsystem_destroy called nvmf_ctrlr_destruct on every controller \
                  still on subsystem->ctrlrs and freed the subsystem; those controllers are \
                  there because their last qpair's teardown (_nvmf_ctrlr_free_from_qpair -> \
                  nvmf_ctrlr_destruct) is still on its way, so each is destroyed twice (the fix \
                  re-sends _nvmf_subsystem_destroy until the list is empty)",
        window: "hosts connected to S with I/O queues; the operator deletes S: the stop \
                 completes once the qpairs left their poll groups, before their controllers' \
                 destruct messages ran on the controller and subsystem threads",
        scenarios: &["operator-sequences"],
        versions: "up to v21.07",
        profile_note: "re-introduced: the bug lived before v24.01; the switch puts the direct \
                       destruct back into the v24.01 profile's _nvmf_subsystem_destroy",
    }
    /// An AER answered at once skips its counter offset; the next pause never ends (#1552).
    Spdk1552 {
        name: "spdk-1552",
        title: "an AER answered at once keeps mgmt_io_outstanding counted",
        fix_commit: "43ad7febb2f7a19b381168f6e26e393a483126ea",
        issue: "https://github.com/spdk/spdk/issues/1552",
        last_buggy: "v20.07",
        first_fixed: "v20.10",
        invariant: InvariantId::I7,
        site: "_nvmf_request_complete",
        spdk: Spdk::V24_01,
        summary: "every admin command is counted in mgmt_io_outstanding at admission and \
                  _nvmf_request_complete skips AERs, so the AER handler must offset its count; \
                  nvmf_ctrlr_async_event_request did so only when it stored the AER, and its \
                  early answers (a pending event, the limit of 4) kept the count: the next \
                  pause waits for it forever",
        window: "a namespace change queues a notice while a host has no AER outstanding (or \
                 the host sends a fifth AER); the host's next AER is answered at once",
        scenarios: &["aen-storm"],
        versions: "up to v20.07",
        profile_note: "re-introduced: the bug lived before v24.01; the switch moves the \
                       offset back to the stored-AER path in the v24.01 profile",
        more_sites: &["nvmf_ctrlr_async_event_request"],
    }
    /// An AER answered before its handler (CC.EN = 0) skips its counter offset (#2215).
    Spdk2215 {
        name: "spdk-2215",
        title: "an AER refused before its handler keeps mgmt_io_outstanding counted",
        fix_commit: "9cb5f885dff8e0c2174546d1f54eef6422f1cc1e",
        issue: "https://github.com/spdk/spdk/issues/2215",
        last_buggy: "v22.05",
        first_fixed: "v22.09",
        invariant: InvariantId::I7,
        site: "_nvmf_request_complete",
        spdk: Spdk::V24_01,
        summary: "after 43ad7febb2 the AER's offset sat at the top of \
                  nvmf_ctrlr_async_event_request, but nvmf_ctrlr_process_admin_cmd answers \
                  some AERs before calling it (CC.EN != 1, a fused command), and \
                  _nvmf_request_complete skips AERs: the count stays and the next pause never \
                  ends (the fix offsets every AER at the top of process_admin_cmd)",
        window: "a host sends an AER while its controller is disabled: right after it wrote \
                 CC.EN = 0 for a reset, before it re-enables the controller",
        scenarios: &["aen-storm"],
        versions: "v20.10 .. v22.05",
        profile_note: "re-introduced: the bug lived before v24.01; the switch moves the \
                       offset back into nvmf_ctrlr_async_event_request in the v24.01 profile",
        more_sites: &["nvmf_ctrlr_process_admin_cmd"],
    }
    /// An admin AER refused on an inactive qpair keeps its count (found by S4; 70f7d5ea70).
    SpdkAerInactiveQpair {
        name: "spdk-aer-inactive-qpair",
        title: "an AER refused on an inactive qpair keeps mgmt_io_outstanding counted",
        fix_commit: "70f7d5ea70f457c4c3a5472442ff9610757b9272",
        issue: "none (the fix names no issue; review 28949)",
        last_buggy: "v26.05",
        first_fixed: "master",
        invariant: InvariantId::I7,
        site: "_nvmf_request_complete",
        spdk: Spdk::Master,
        summary: "nvmf_check_subsystem_active counts an admin AER before the qpair's state is \
                  tested; when the qpair is no longer active the AER is answered COMMAND \
                  SEQUENCE ERROR without reaching the offset in nvmf_ctrlr_process_admin_cmd, \
                  and _nvmf_request_complete skips AERs, so the count stays and every later \
                  pause of the subsystem hangs (the fix offsets it in nvmf_check_qpair_active)",
        window: "an admin AER reaches spdk_nvmf_request_exec on a qpair that is not active: \
                 replayed from sgroup->queued on resume after its admin qpair started \
                 disconnecting, or (master) sent right behind the CONNECT while the qpair is \
                 still CONNECTING with its controller bound (aen-storm's host that sends an \
                 AER behind its CONNECT, master profile)",
        scenarios: &["aen-storm"],
        versions: "v22.09 .. v26.05 (fixed after the last release; before v22.09 the same \
                   path is part of spdk-2215)",
        profile_note: "native to v24.01, v26.05 and master up to 70f7d5ea70: every profile \
                       with the switch off has the fix; found by this model's completion-side \
                       counter recomputation, then matched to the upstream fix",
        more_sites: &["nvmf_check_qpair_active"],
        also_shipped_in: &[Spdk::V26_05],
    }
}
