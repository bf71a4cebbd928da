// The catalogue list, second part (included by catalogue.rs before the first part): a macro
// that takes the first part's entries and passes them, followed by these, to `catalogue!`,
// so the list stays one token stream in `BugId` order. Append new entries at the end.

macro_rules! catalogue_second_part {
    ($($first:tt)*) => {
        catalogue! {
            $($first)*
            /// A repeated disconnect calls its callback at once and the poll-group destroy walk
            /// recurses on the same qpair (SPDK #2765).
            Spdk2765 {
                name: "spdk-2765",
                title: "a repeated disconnect calls back at once; the destroy walk recurses",
                fix_commit: "0496a2af3bf74ba61b6130a69245a86c7cbd486e",
                issue: "https://github.com/spdk/spdk/issues/2765",
                last_buggy: "v23.01",
                first_fixed: "v23.05",
                invariant: InvariantId::I16,
                site: "_nvmf_tgt_disconnect_next_qpair",
                spdk: Spdk::Master,
                summary: "before the fix spdk_nvmf_qpair_disconnect(qpair, cb, ctx) called cb at once \
                          when the qpair was already disconnecting, and the poll-group destroy walk \
                          disconnected TAILQ_FIRST(&group->qpairs) with itself as cb: a first qpair \
                          still tearing down (draining I/O, or its host gone) stays first, so the walk \
                          re-enters itself without end and overflows the stack (the fix passes no \
                          callback and re-polls until the group is empty)",
                window: "target shutdown reaches a poll group (DESTROY_POLL_GROUPS) while a qpair on it \
                         has started disconnecting and has not left group->qpairs yet: an I/O qpair \
                         of a subsystem an earlier delete is still stopping (the shutdown passes that \
                         subsystem) drains I/O still at the device",
                scenarios: &["shutdown-under-load"],
                versions: "up to v23.01 (backport 50b2ab5a05 in v23.01.1; the recursive walk dates \
                           from e4c1e5f866, 2018)",
                profile_note: "re-introduced: the bug lived before v24.01; the switch puts the callback \
                               form and the recursive walk into the master profile, whose destroy \
                               walk and disconnect are otherwise the same (the v24.01 profile takes \
                               the switch too and finds it as fast)",
            }
            /// v24.05's assert on requests left on `sgroup->queued` fires when a subsystem reuses an
            /// id (#3467).
            Spdk3467 {
                name: "spdk-3467",
                title: "a subsystem reusing an id asserts on requests left on its sgroup->queued",
                fix_commit: "5993fd035dce97b2818a10d35408a11b231a26f4",
                issue: "https://github.com/spdk/spdk/issues/3467",
                last_buggy: "v24.05",
                first_fixed: "v24.09",
                invariant: InvariantId::I4,
                site: "nvmf_poll_group_add_subsystem",
                spdk: Spdk::Master,
                summary: "group->sgroups is indexed by subsystem id and spdk_nvmf_subsystem_create \
                          takes the lowest free id, so a new subsystem inherits the sgroups of the \
                          last one deleted; requests still on sgroup->queued there (a CONNECT queued \
                          while the old subsystem was paused or stopping: its qpair has no controller, \
                          so the stop never disconnected it) meet nvmf_poll_group_add_subsystem, which \
                          in v24.05 freed them and then hit assert(false) (the fix keeps the error log \
                          and the free, and drops the assert)",
                window: "a CONNECT reaches a poll group while its subsystem is paused or stopping and \
                         is queued; the operator deletes the subsystem and creates one (any NQN) that \
                         gets the same id and is started before the connecting host gives up",
                scenarios: &["subsystem-recreate"],
                versions: "v24.05 only (the assert came with 3e787bba61)",
                profile_note: "re-introduced: the switch puts v24.05's assert(false) back into the \
                               master profile's nvmf_poll_group_add_subsystem; with it off both \
                               profiles drop the leftovers unanswered (v24.01 forgets them, master \
                               frees them with a log: hazard H-1-queued-connect-orphaned)",
            }
            /// Controller destruct starts before the last qpair left its group; a namespace change
            /// walks the freed admin qpair (#2055).
            Spdk2055 {
                name: "spdk-2055",
                title: "controller destruct starts before its last qpair is gone; a namespace change \
                        reads the freed admin qpair",
                fix_commit: "478f652436bfc8709207f15271a858503d11e7a5",
                issue: "https://github.com/spdk/spdk/issues/2055",
                last_buggy: "v21.10",
                first_fixed: "v22.01",
                invariant: InvariantId::I1,
                site: "poll_group_update_subsystem",
                spdk: Spdk::V24_01,
                summary: "before the fix _nvmf_qpair_destroy sent _nvmf_ctrlr_free_from_qpair to the \
                          controller thread first (clear the mask bit; the last one starts the \
                          destruct) and only then removed the qpair from its group and freed it \
                          (_nvmf_transport_qpair_fini); ctrlr->admin_qpair was never cleared, so \
                          between the admin qpair's free and the controller's removal from \
                          subsystem->ctrlrs a namespace change's poll_group_update_subsystem read \
                          ctrlr->admin_qpair->group of freed memory (the fix frees from the \
                          controller after transport fini and clears admin_qpair there)",
                window: "a host's admin qpair is torn down (host close, keep-alive expiry, operator \
                         disconnect) while the operator adds or removes a namespace: the resume \
                         reaches the controller's poll group after the admin qpair was freed and \
                         before the subsystem thread removed the controller",
                scenarios: &["teardown-race"],
                versions: "up to v21.10",
                profile_note: "re-introduced: the bug lived before v24.01; the switch puts the old \
                               teardown order back into the v24.01 profile",
            }
            /// The old teardown order's poll-group removal reads the freed controller (#1819).
            Spdk1819 {
                name: "spdk-1819",
                title: "poll-group removal reads a controller freed by the destruct it raced",
                fix_commit: "b503ef4fa0220719441e31841452b82182599ca4",
                issue: "https://github.com/spdk/spdk/issues/1819",
                last_buggy: "none (master 2021-05-20 .. 2021-06-28)",
                first_fixed: "v21.07",
                invariant: InvariantId::I1,
                site: "spdk_nvmf_poll_group_remove",
                spdk: Spdk::V24_01,
                summary: "103f5c62f5 moved spdk_nvmf_poll_group_remove, with its purge of \
                          sgroup->queued through qpair->ctrlr->subsys->id, into \
                          _nvmf_transport_qpair_fini, which in the old teardown order runs after \
                          _nvmf_ctrlr_free_from_qpair: the last qpair's free starts the controller \
                          destruct, and the destruct and the qpair's fini race; if the free wins, the \
                          purge reads a freed controller (the fix purges in _nvmf_qpair_destroy; \
                          found while investigating #1819, not #1819 itself)",
                window: "a controller's last qpair is an I/O qpair on another poll group than the \
                         controller thread: its fini runs after the subsystem thread and the \
                         controller thread freed the controller",
                scenarios: &["qpair-teardown"],
                versions: "none released (master between 103f5c62f5 and the fix, both first in v21.07)",
                profile_note: "re-introduced: never released; the switch puts the read back into the \
                               old teardown order (spdk-2055), which it requires",
                requires: &[BugId::Spdk2055],
            }
            /// nvmf_tgt keeps listening while it destroys its poll groups: a connection accepted
            /// then lands on a group being freed (#3273).
            Spdk3273 {
                name: "spdk-3273",
                title: "target shutdown keeps accepting while it destroys the poll groups",
                fix_commit: "2cbc8aec37c9019e42f9ef878b80e7df8c58b817",
                issue: "https://github.com/spdk/spdk/issues/3273",
                last_buggy: "v24.01",
                first_fixed: "v24.05",
                invariant: InvariantId::I15,
                site: "nvmf_tgt_destroy_poll_group",
                spdk: Spdk::V24_01,
                summary: "v24.01's nvmf_tgt shutdown (STOP_SUBSYSTEMS, DESTROY_SUBSYSTEMS, \
                          DESTROY_POLL_GROUPS, DESTROY_TARGET) closes the listen sockets only when \
                          the target is destroyed, so the acceptor keeps handing new qpairs to \
                          spdk_nvmf_tgt_new_qpair while the poll groups are torn down: a qpair whose \
                          _nvmf_poll_group_add is queued behind the walk's put_io_channel joins a \
                          group that is then freed with it still linked (or runs after the free): a \
                          use after free of struct spdk_nvmf_poll_group (the fix adds \
                          NVMF_TGT_FINI_STOP_LISTEN before the poll groups go)",
                window: "a host connects while target shutdown is destroying the poll groups: the \
                         poll group the acceptor picks has just emptied and put its channel",
                scenarios: &["shutdown-under-load"],
                versions: "up to v24.01 (STOP_LISTEN came with 2cbc8aec37 in v24.05)",
                profile_note: "native to v24.01: with the switch off the v24.01 profile is v24.01 \
                               plus the fix as v24.05 has it (STOP_LISTEN first, then \
                               STOP_SUBSYSTEMS); master stops the subsystems before the listeners \
                               (f5bebba058, #3784)",
                more_sites: &["_nvmf_poll_group_add"],
            }
            /// TCP qpair destroy aborts a request waiting for a buffer through the cleared
            /// `qpair->group` (#3627).
            Spdk3627 {
                name: "spdk-3627",
                title: "TCP qpair destroy aborts a request waiting for a data buffer through the \
                        qpair->group that poll-group removal already cleared",
                fix_commit: "243b7d792e428b925a9b510655920c61d5c79b6a",
                issue: "https://github.com/spdk/spdk/issues/3627",
                last_buggy: "v25.01",
                first_fixed: "v25.05",
                invariant: InvariantId::I1,
                site: "nvmf_request_get_buffers_abort",
                spdk: Spdk::Master,
                summary: "since 18ede8d38d a TCP request that finds no data buffer waits on the \
                          poll group's iobuf queue (NEED_BUFFER); _nvmf_qpair_destroy calls \
                          spdk_nvmf_poll_group_remove (qpair->group = NULL) before the transport \
                          fini, and _nvmf_tcp_qpair_destroy's nvmf_tcp_cleanup_all_states then \
                          aborted the waiting requests with nvmf_request_get_buffers_abort, which \
                          passed req->qpair->group (NULL) to nvmf_get_transport_poll_group; a \
                          buffer handed over in between reads the same NULL in \
                          nvmf_request_iobuf_get_cb (the fix aborts them in \
                          nvmf_tcp_poll_group_remove, group still set, and marks them COMPLETED)",
                window: "a poll group's data buffers are all held (large writes waiting for their \
                         data, reads on a slow device) and a request of a qpair waits for one when \
                         the qpair is torn down (host disconnect or reset, keep-alive expiry, \
                         stop-listen)",
                scenarios: &["buffer-starved-teardown"],
                versions: "v24.09 .. v25.01",
                profile_note: "re-introduced: the switch puts the pre-fix cleanup into the master \
                               profile's bounded buffer pool (S7, pg_buffers); v24.01 has no iobuf \
                               queue (its pending_buf_queue is reached through tqpair->group)",
                more_sites: &["nvmf_request_iobuf_get_cb"],
            }
            /// A TCP qpair removed from its group in AWAIT_REQ is linked again and freed (#3208).
            Spdk3208 {
                name: "spdk-3208",
                title: "a TCP qpair removed in AWAIT_REQ is put back on tgroup->qpairs and freed there",
                fix_commit: "8cd4cc63d4bafb9851587a5c781e75cc402a13d8",
                issue: "https://github.com/spdk/spdk/issues/3208",
                last_buggy: "v23.09",
                first_fixed: "v24.01",
                invariant: InvariantId::I1,
                site: "_nvmf_tcp_qpair_destroy",
                spdk: Spdk::V24_01,
                summary: "nvmf_tcp_poll_group_remove unlinked the qpair from the list its receive \
                          state named (tgroup->await_req in AWAIT_REQ) and left the state; \
                          spdk_sock_close in _nvmf_tcp_qpair_destroy then aborts the pending \
                          response write, _req_pdu_write_done sets QUIESCING, and \
                          nvmf_tcp_qpair_set_recv_state, leaving AWAIT_REQ, inserts the qpair into \
                          tgroup->qpairs; it is freed right after, still linked (the fix sets \
                          QUIESCING before unlinking from tgroup->qpairs)",
                window: "a qpair has every request slot busy, one of them holding a response whose \
                         zero-copy write has not completed, and a new capsule waits in AWAIT_REQ; \
                         the qpair is torn down (host disconnect or reset, keep-alive expiry, \
                         stop-listen) before that write completes",
                scenarios: &["queue-full-teardown"],
                versions: "v20.01 .. v23.09",
                profile_note: "re-introduced: the switch puts v23.09's nvmf_tcp_poll_group_remove \
                               into the v24.01 profile (zero-copy send and small queues come from \
                               the scenario)",
            }
            /// Remove-subsystem declared done while a qpair's teardown round trip is in flight;
            /// the shutdown then destroys the poll groups and their threads exit under it (#1850).
            Spdk1850 {
                name: "spdk-1850",
                title: "a subsystem stop completes while its qpairs' teardown messages are in \
                        flight; the shutdown's poll-group threads exit under them",
                fix_commit: "ba6f6c5eb05da594d6b0e04f9e8801f6e873a21d",
                issue: "https://github.com/spdk/spdk/issues/1850",
                last_buggy: "v21.01",
                first_fixed: "v21.04",
                invariant: InvariantId::I15,
                site: "_nvmf_ctrlr_free_from_qpair",
                spdk: Spdk::V24_01,
                summary: "v21.01's _nvmf_qpair_destroy took the qpair off its poll group first and \
                          then sent _nvmf_ctrlr_free_from_qpair to the controller thread, which \
                          sent _nvmf_transport_qpair_fini back to the qpair's thread; \
                          nvmf_poll_group_remove_subsystem_msg re-polled until no qpair of the \
                          subsystem was on the group, so the subsystem stop completed with that \
                          round trip still in flight. nvmf_tgt went on to DESTROY_POLL_GROUPS (no \
                          DESTROY_SUBSYSTEMS state before 11f0a6ec0f), each group called \
                          spdk_thread_exit, and thread_exit did not wait for the message ring \
                          (85d70c03c5 added that in v23.01): the fini was sent to an exited thread \
                          or freed with its ring (the fix waits for the disconnect callbacks, \
                          da9766336e then re-scans until no qpair remains)",
                window: "target shutdown stops a subsystem whose controller lives on another poll \
                         group than one of its qpairs: the qpair's teardown round trip is still \
                         on its way back when the poll groups are destroyed",
                scenarios: &["shutdown-under-load"],
                versions: "up to v21.01 (the second half, da9766336e, up to v21.04)",
                profile_note: "re-introduced: the switch puts v21.01's shapes into the v24.01 \
                               profile: the qpair leaves its group before the controller round \
                               trip (the old teardown order, spdk-2055, which it requires), the \
                               shutdown without STOP_LISTEN and DESTROY_SUBSYSTEMS, and a \
                               thread_exit that does not wait for queued messages",
                requires: &[BugId::Spdk2055],
                more_sites: &["_nvmf_transport_qpair_fini"],
            }
        }
    };
}
