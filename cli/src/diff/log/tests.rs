use super::{parse, Kind};

const AGREES: &str = "story 1.story
seed fc1:churn@master:1
model result: clean
step 1 @0us: accept
step 2 @0us: bytes
    conn 1 sends 128 bytes: 0100800080000000 (model: same)
objects differ from the model's on 0 step(s)
story done (2 steps); outputs agree with the model on 2, differ on 0
quiescent after 3 drain rounds: 1 qpair(s) left, none in transition
verdict 1.story: QUIESCENT
";

const DIFFERS: &str = "story 2.story
seed fc1:churn@master:2
model result: clean
step 7 @0us: run
  pg0 runs _nvmf_request_complete [ctrlr.c] (model: _nvmf_poll_group_add)
  DIVERGENCE step 7: model runs _nvmf_poll_group_add, SPDK's head message is _nvmf_request_complete [ctrlr.c]
verdict 2.story: DIVERGED
story 3.story
seed fc1:churn@master:3
model result: clean
step 4 @0us: bytes
    conn 2 sends 24 bytes: 0501
    OUTPUT DIFFERS step 4 conn 2: model sends 0 bytes: 
    RPC DIFFERS step 4: model answers 1:ok, SPDK answers 1:error
    OBJECTS DIFFER step 4: model qpairs 1 0 ctrlrs 1, SPDK qpairs 0 0 ctrlrs 1
step 5 @0us: complete
  DIVERGENCE step 5: model completes device io 3, SPDK has no such I/O outstanding (0 outstanding)
verdict 3.story: DIVERGED
story 4.story
seed fc1:seed-3302@v24.01+spdk-3302:4
model result: violation I1 free_aer
step 1 @0us: accept
==1==ERROR: AddressSanitizer: SEGV on unknown address
SUMMARY: AddressSanitizer: SEGV ctrlr.c:3910 in nvmf_qpair_free_aer
verdict 4.story: CRASH
story 5.story
seed fc1:churn@master:5
model result: clean
SUMMARY: AddressSanitizer: heap-use-after-free thread.c:12 in x
verdict 5.story: CRASH
story 6.story
seed fc1:churn@master:6
model result: clean
UNSUPPORTED step 3 (rpc unsupported): the harness cannot replay it
verdict 6.story: UNSUPPORTED
";

#[test]
fn a_clean_quiescent_story_with_equal_outputs_agrees() {
    let o = parse(AGREES);
    assert_eq!(o.len(), 1);
    assert_eq!(o[0].seed, "fc1:churn@master:1");
    assert_eq!(o[0].verdict, "QUIESCENT");
    assert!(o[0].agrees(), "{:?}", o[0]);
}

#[test]
fn each_kind_of_difference_is_read_with_step_and_both_views() {
    let o = parse(DIFFERS);
    assert_eq!(o.len(), 5);
    let m = &o[0].differences[0];
    assert_eq!((m.kind, m.step), (Kind::Message, Some(7)));
    assert_eq!(m.model, "model runs _nvmf_poll_group_add");
    assert!(m.spdk.contains("_nvmf_request_complete"));
    let kinds: Vec<Kind> = o[1].differences.iter().map(|d| d.kind).collect();
    assert_eq!(
        kinds,
        [Kind::Output, Kind::Rpc, Kind::Objects, Kind::Device]
    );
    let out = &o[1].differences[0];
    assert_eq!(out.step, Some(4));
    assert_eq!(out.spdk, "conn 2 sends 24 bytes: 0501");
    assert_eq!(out.key, "SPDK sends bytes where the model sends none");
    let obj = &o[1].differences[2];
    assert_eq!(obj.model, "qpairs 1 0 ctrlrs 1");
    assert_eq!(obj.spdk, "qpairs 0 0 ctrlrs 1");
    assert_eq!(obj.key, "qpairs per poll group: SPDK has fewer");
    assert!(!o[0].agrees() && !o[1].agrees());
}

#[test]
fn a_crash_agrees_only_with_a_model_violation() {
    let o = parse(DIFFERS);
    assert!(o[2].agrees(), "{:?}", o[2]);
    assert!(!o[3].agrees());
    let v = &o[3].differences[0];
    assert_eq!(v.kind, Kind::Verdict);
    assert!(v.spdk.contains("heap-use-after-free"), "{v:?}");
}

#[test]
fn unsupported_stories_are_set_apart() {
    let o = parse(DIFFERS);
    assert!(o[4].unsupported.is_some());
    assert!(!o[4].agrees());
}
