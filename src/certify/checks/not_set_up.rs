//! `status-json/not-set-up`: how a plugin answers `status` for an infra container it does not
//! have set up: not yet — the v1.2+ PLEG relist racing the pod worker (docs/kubelet.md §3.2 observed
//! 2026-12-06), a seeded interleaving of the simulator ([`CallPurpose::RelistBeforeSetup`]) —
//! or no more — the first relist of a kubelet restarted during a delete asks status for the
//! half-deleted pod's infra container after its teardown (docs/kubelet.md §3.5 observed).
//!
//! Level `should`, not `must`: what the release does with the answer decides (docs/plugin-manager.md §2.5, docs/kubelet.md §3.2).
//! Every observed failure of such a call (4 made to fail on purpose, v1.5.0) was only logged by
//! the kubelet: the pod IP comes from the post-setup `status`, and the relist after it inspects
//! the container again. So a plugin that exits 1 here loses nothing the pod needs, but it logs a
//! network error for every new pod a kubelet makes it see early. A hang is another matter: it
//! stalls the PLEG for every pod, and the timeout checks judge it like any call. Under 1.1 (and
//! `documented`) the sync loop calls `setup` and then `status` in one goroutine (v1.1.1
//! `pkg/kubelet/dockertools/manager.go` `SyncPod` → `determineContainerIP`): never before, so
//! nothing to judge.

use std::collections::BTreeMap;

use super::{Ctx, Judgement, judged, sc};
use crate::certify::Level;
use crate::certify::catalogue::CheckDef;
use crate::certify::evidence::Finding;
use crate::kubelet::{CallPurpose, Transcript};
use crate::plugin::StatusResult;

pub const NOT_SET_UP: CheckDef = CheckDef {
    id: "status-json/not-set-up",
    level: Level::Should,
    title: "status for an infra container not set up (yet, or any more) is answered calmly",
    rationale: "v1.2+ relist the runtime every second and may ask status for a new infra container before or while the pod worker runs its setup (observed 13 times, 4–38 ms before setup), and a kubelet restarted during a delete asks it for the half-deleted pod's infra container after its teardown; a failure there was only logged (docs/kubelet.md §3.2, §3.5). Expected: exit 0 with empty output or the IP setup is about to give. v1.1 never calls status before setup.",
    scenarios: &[sc::BASIC, sc::CRASH, sc::PARALLEL, sc::RESTART],
    judges_start: false,
    judge: not_set_up,
};

fn not_set_up(ctx: &Ctx, ts: &[&Transcript]) -> Judgement {
    let mut findings = Vec::new();
    let mut judged_calls = 0;
    for t in ts {
        let calls = ctx.calls(&[t]);
        // The post-setup IP of each container, to compare an early answer with.
        let post_setup: BTreeMap<&str, String> = calls
            .iter()
            .filter(|c| c.purpose == CallPurpose::PostSetup)
            .filter_map(|c| match (&c.id, &c.call.status) {
                (Some(id), Some(StatusResult::Status { ip: Some(ip), .. })) => {
                    Some((*id, ip.to_string()))
                }
                _ => None,
            })
            .collect();
        for (_, c) in calls.iter().enumerate().filter(|(i, c)| {
            c.purpose == CallPurpose::RelistBeforeSetup || super::is_late_status(&calls, *i)
        }) {
            judged_calls += 1;
            let expected = if c.purpose == CallPurpose::RelistBeforeSetup {
                "exit 0 with empty output or the IP setup is about to give (the kubelet only logs anything else)"
            } else {
                "exit 0 with empty output or the IP it had (the kubelet only logs anything else)"
            };
            if !c.call.succeeded() {
                findings.push(Finding::call_result(c, expected));
                continue;
            }
            match &c.call.status {
                Some(StatusResult::Error { message }) => findings.push(Finding::call(
                    c,
                    format!("status of a container not set up could not be read: {message}"),
                    expected,
                )),
                Some(StatusResult::Status { ip: Some(ip), .. }) => {
                    if let Some(later) = c.id.and_then(|id| post_setup.get(id))
                        && *later != ip.to_string()
                    {
                        findings.push(Finding::call(
                            c,
                            format!("status before setup gave {ip}, the post-setup status {later}"),
                            expected,
                        ));
                    }
                }
                _ => {}
            }
        }
    }
    if judged_calls == 0 {
        if !ctx.profile.is_pleg() {
            return Judgement::NotApplicable(format!(
                "kubelet {} calls status only after setup has returned (one sync goroutine per pod, no PLEG)",
                ctx.profile.name
            ));
        }
        return Judgement::NoEvidence(
            "no status for a container not set up with these seeds (try --repeat)".into(),
        );
    }
    judged(
        judged_calls,
        format!(
            "{judged_calls} status calls for containers not set up (yet, or any more) answered calmly"
        ),
        findings,
    )
}
