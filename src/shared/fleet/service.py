"""The fleet function's logic: record heartbeats, inventory snapshots and running jobs; alert on
silent workload accounts, idle endpoints and running jobs whose hardware idles; and ask the
workload accounts for fresh inventories."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.adapters.cloudwatch import EndpointActivity, MetricsReader
from shared.adapters.dynamodb import FleetTable
from shared.adapters.eventbridge import RefreshRequester
from shared.adapters.sqs import DeadLetterQueue, park
from shared.alerting.alerts import Alert, JobSays
from shared.alerting.delivery import AlertOutcome, Delivery
from shared.config import FleetSettings
from shared.contracts.inventory import (
    HEARTBEAT_DETAIL_TYPE,
    HEARTBEAT_SOURCE,
    INVENTORY_SOURCE,
    REFRESH_DETAIL_TYPE,
    REFRESH_SOURCE,
    SNAPSHOT_DETAIL_TYPE,
    Endpoint,
    Heartbeat,
    Snapshot,
    StoredInventory,
    Variant,
    parse_heartbeat,
    parse_snapshot,
)
from shared.domain.events import SageMakerEvent
from shared.domain.health import (
    METRIC_DELAY_SECONDS,
    Breach,
    Limits,
    Minute,
    Signal,
    judge,
    may_breach,
    with_requests,
)
from shared.domain.health import Verdict as HealthVerdict
from shared.domain.parser import check_depth, event_id_of, load_body, parse_event
from shared.domain.patterns import running
from shared.domain.utilization import (
    JobKey,
    Observed,
    Verdict,
    assess,
    judged_metric,
    normalize,
    observe,
    plan,
)
from shared.domain.vocabulary import PROCESSING, TRAINING
from shared.fleet.alerts import (
    dead_letters_alert,
    idle_endpoint_alert,
    idle_endpoints_alert,
    names_digest,
    silence_alert,
)
from shared.fleet.health import (
    Episode,
    key_of,
    recovered_alert,
    unhealthy_alert,
    unhealthy_summary,
)
from shared.fleet.inflight import (
    ENDED_KEPT_SECONDS,
    RunningJob,
    ended_alert,
    hourly_cost,
    in_flight_alert,
)
from shared.fleet.inflight import recovered_alert as busy_again_alert
from shared.fleet.silence import Expected, Source, silence_changes
from shared.metrics import emit_alert
from shared.platform.clock import Clock, system_clock
from shared.platform.errors import InvalidEvent, RetryableError
from shared.platform.idempotency import RETRYABLE
from shared.platform.matching import every
from shared.platform.observability import logger
from shared.platform.router import Disposition, Router
from shared.ports import (
    MAX_IDLE_ALERTED,
    AlertChannel,
    DeadLetters,
    FleetStore,
    IdleAlerted,
    IdlePlan,
    InvocationSource,
    MetricsSource,
    OnceStore,
    RefreshRequests,
)

# An inventory older than this is not trusted for idle endpoints: its collector stopped (the
# longest CollectorMinutes is a day).
STALE_INVENTORY_SECONDS = 2 * 86_400
fleet_events: Router[Fleet, dict[str, Any]] = Router("fleet")


@fleet_events.route(
    every(HEARTBEAT_SOURCE, HEARTBEAT_DETAIL_TYPE),
    rule="FleetFunctionHeartbeats",
    parse=parse_heartbeat,
)
def heartbeat(beat: Heartbeat, fleet: Fleet) -> dict[str, Any]:
    return fleet.record_heartbeat(beat)


@fleet_events.route(
    every(INVENTORY_SOURCE, SNAPSHOT_DETAIL_TYPE),
    rule="FleetFunctionInventories",
    parse=parse_snapshot,
)
def snapshot(inventory: Snapshot, fleet: Fleet) -> dict[str, Any]:
    return fleet.record_snapshot(inventory)


@fleet_events.route(
    running(TRAINING, PROCESSING),
    rule="RunningJobsRule",
    parse=parse_event,
    when=lambda job: not job.is_tuning_child,  # its tuning job speaks for it, as after it ends
)
def job_state(event: SageMakerEvent, fleet: Fleet) -> dict[str, Any]:
    """Which jobs run, on what, since when: a scheduled check alerts `idle` (medium) on a running
    job whose hardware idles, with its recovery or its end as a follow-up."""
    return fleet.record_job(event)


class Fleet:
    def __init__(
        self,
        settings: FleetSettings,
        table: FleetStore | None = None,
        activity: InvocationSource | None = None,
        refresher: RefreshRequests | None = None,
        publishers: Mapping[str, AlertChannel] | None = None,
        records: OnceStore | None = None,
        clock: Clock = system_clock,
        metrics: MetricsSource | None = None,
        dead_letters: DeadLetters | None = None,
    ) -> None:
        self.settings = settings
        self.table: FleetStore = table or FleetTable(settings.table)
        self.activity: InvocationSource = activity or EndpointActivity()
        self.metrics: MetricsSource = metrics or MetricsReader()
        url = settings.dead_letter_queue_url  # none (tests): the queue's redrive policy parks
        self.dead_letters = dead_letters or (DeadLetterQueue(url) if url else None)
        self.refresher: RefreshRequests = refresher or RefreshRequester(
            settings.event_bus_name, settings.refresh_role_arn, settings.refresh_rule_prefix
        )
        self.deliver = Delivery(settings, publishers, records, clock, labels=self.table)
        self.clock = clock
        self.actions: dict[str, Callable[[], dict[str, Any]]] = {
            "watch": self.watch,
            "refresh": self.refresh,
            "idle-endpoints": self.idle_endpoints,
            "hourly": self.hourly,
            "in-flight": self.in_flight,
            "endpoint-health": self.endpoint_health,
        }

    def handle(self, raw: Any, lambda_context: Any = None) -> dict[str, Any]:
        """A scheduled action ({"action": ...}), a forwarded heartbeat or snapshot, or a batch of
        jobs' state changes from their queue (SQS)."""
        self.deliver.once.bind(lambda_context)
        check_depth(raw)  # anything nested past the limit is refused before it is read
        if isinstance(raw, Mapping) and "Records" in raw:
            return self.record_jobs(raw["Records"] if isinstance(raw["Records"], list) else [])
        if isinstance(raw, Mapping) and "action" in raw:
            name = raw["action"]
            action = self.actions.get(name) if isinstance(name, str) else None
            if action is None:
                shown = repr(name[:40]) if isinstance(name, str) else f"a {type(name).__name__}"
                raise InvalidEvent(f"unknown action {shown}: one of {sorted(self.actions)}")
            return action()
        dispatch = fleet_events.dispatch(raw, self)
        if dispatch.disposition is not Disposition.HANDLED or dispatch.result is None:
            return {"outcome": dispatch.disposition.value}
        return dispatch.result

    # ---- records ---------------------------------------------------------------------------
    def record_heartbeat(self, beat: Heartbeat) -> dict[str, Any]:
        labels = {"project": beat.project, "environment": beat.environment}
        self.table.put_heartbeat(
            beat.account, beat.region, beat.at.timestamp(), beat.interval_minutes, labels
        )
        return {"outcome": "recorded", "account": beat.account, "region": beat.region}

    def record_snapshot(self, inventory: Snapshot) -> dict[str, Any]:
        """Kept for the idle-endpoint check (with when each endpoint was first seen); the
        archive keeps the snapshot itself for the dashboard."""
        previous = self._stored(inventory.account, inventory.region)
        stored = StoredInventory.after(inventory, previous)
        expires = int(stored.collected_at + self.settings.forget_after_seconds)
        self.table.put_inventory(stored.record(), expires)
        if stored.dead_letters_appeared(previous):
            self._alert(dead_letters_alert(stored))
        if inventory.alias:  # the account's name, for every alert about it
            self.table.name_account(
                inventory.account, inventory.region, stored.collected_at, inventory.alias
            )
        if inventory.errors:
            logger.warning(
                "inventory incomplete",
                extra={"account": inventory.account, "errors": inventory.errors},
            )
        return {"outcome": "recorded", "account": inventory.account, "kpis": len(inventory.counts)}

    def record_jobs(self, records: list[Any]) -> dict[str, Any]:
        """An SQS batch (partial batch response): each state change recorded, parked with its
        reason if it cannot be read, or retried if a dependency failed; one record's fate is
        its own."""
        retried = []
        for record in records:
            record = record if isinstance(record, Mapping) else {}
            raw: Any = None
            try:
                raw = load_body(record.get("body"))
                fleet_events.dispatch(raw, self)
            except InvalidEvent as error:
                reason, event_id = f"invalid event: {error}", event_id_of(raw)
                logger.error(
                    "state change dead-lettered", extra={"event_id": event_id, "reason": reason}
                )
                if not park(self.dead_letters, record, reason, error, event_id):
                    retried.append(str(record.get("messageId")))
            except Exception as error:  # one record's failure is its own
                # Retried; after the queue's receives, parked by its redrive policy.
                logger.warning("state change retried", extra={"reason": str(error)[:300]})
                retried.append(str(record.get("messageId")))
        return {"batchItemFailures": [{"itemIdentifier": m} for m in retried]}

    def record_job(self, event: SageMakerEvent) -> dict[str, Any]:
        """A running job is kept (its latest state); an ended one is marked so, and if its
        hardware was still idle, its idle incident gets the end as a follow-up."""
        job = RunningJob.of(event, self.settings.team_tag_key)
        if not event.is_terminal:
            if job.at < self.clock() - ENDED_KEPT_SECONDS:
                # Redelivered this late, its end's record may have expired: it would come back.
                return {"outcome": "stale", "job": job.name}
            self.table.put_running(job.key, job.job_text(), job.at, job.expires_at)
            return {"outcome": "running", "job": job.name}
        ended = event.ended_at or event.time or datetime.fromtimestamp(self.clock(), UTC)
        record = self.table.end_running(
            job.key, ended.timestamp(), job.status, int(ended.timestamp()) + ENDED_KEPT_SECONDS
        )
        self._ended_while_idle(record)
        return {"outcome": "ended", "job": job.name}

    def _ended_while_idle(self, record: Mapping[str, Any]) -> None:
        """The end's follow-up, for a job ended in an idle episode whose alert went out (the
        job's end and the scan that alerted may come in either order: both call this)."""
        if "job" not in record or record.get("idle_since") is None or not record.get("alerted"):
            return
        try:
            kept = RunningJob.from_record(record)
        except InvalidEvent as error:
            logger.error("running job unreadable", extra={"reason": str(error)})
            return
        if kept.ended_at is not None:
            self._alert(ended_alert(kept, self.settings.team_tag_key))

    def _stored(self, account: str, region: str) -> StoredInventory | None:
        record = self.table.inventory(account, region)
        try:
            return None if record is None else StoredInventory.from_record(record)
        except InvalidEvent as error:  # replaced by this snapshot; first sightings start again
            logger.error("inventory unreadable", extra={"reason": str(error)})
            return None

    # ---- scheduled actions -----------------------------------------------------------------
    def watch(self) -> dict[str, Any]:
        """Alert on each source that fell silent or came back, then remember it."""
        now = self.clock()
        records, marks = self.table.sources()
        sources = [Source(**record) for record in records]
        never_heard = {account: Expected(*mark) for account, mark in marks.items()}
        heard = {source.account for source in sources}
        for account in sorted(self.settings.configured_accounts - heard - set(never_heard)):
            self.table.expect(account, now)  # missed for the first time: its grace starts
        changes = silence_changes(
            sources,
            self.settings.configured_accounts,
            never_heard,
            now,
            self.settings.forget_after_seconds,
            self.settings.never_heard_grace_seconds,
        )
        for change in changes:
            self._alert(silence_alert(change, now))
            self.table.mark(change.account, change.region, change.since if change.silent else None)
        for account, waiting in never_heard.items():
            if account in heard and not waiting.alerted:  # heard within its grace
                self.table.mark(account, None, None)
        return {
            "outcome": "watched",
            "sources": len(sources),
            "silent": [f"{c.account}/{c.region or '*'}" for c in changes if c.silent],
            "recovered": [f"{c.account}/{c.region or '*'}" for c in changes if not c.silent],
        }

    def hourly(self) -> dict[str, Any]:
        """Both hourly steps, each whatever happens to the other; a failure raises at the end
        (the retry repeats both: refresh requests are harmless twice, alerts are once-only)."""
        result: dict[str, Any] = {}
        errors = []
        for step in (self.refresh, self.idle_endpoints):
            try:
                result |= step()
            except RETRYABLE as error:
                logger.error(
                    "hourly step failed", extra={"step": step.__name__, "reason": str(error)}
                )
                errors.append(f"{step.__name__}: {error}")
        if errors:
            raise RetryableError("; ".join(errors))
        return result

    def refresh(self) -> dict[str, Any]:
        """Ask every account heard from recently for a fresh inventory."""
        now = self.clock()
        records, _ = self.table.sources()
        targets = sorted(
            {
                (r["account"], r["region"])
                for r in records
                if now - r["last_seen"] <= self.settings.forget_after_seconds
            }
        )
        request = {"request_id": str(uuid.uuid4())}
        self.refresher.request(targets, request, REFRESH_SOURCE, REFRESH_DETAIL_TYPE)
        return {"refresh_requested": len(targets), "request_id": request["request_id"]}

    def idle_endpoints(self) -> dict[str, Any]:
        """Endpoints in service for at least the idle window that served no request in it
        (this Region only: metrics are shared per Region, through the OAM sink).

        Each account is checked on its own (one failing does not keep the others from being
        alerted), in as few GetMetricData calls as the API allows; each idle endpoint is alerted
        once a day, one by one up to the storm threshold, past it with the others newly idle
        (`_alert_idle`)."""
        if not self.settings.oam_sink_arn:
            return {"idle_endpoints_skipped": "no OAM sink: other accounts' metrics are unread"}
        now = self.clock()
        hours = self.settings.idle_endpoint_hours
        end = datetime.fromtimestamp(now, tz=UTC)
        start = end - timedelta(hours=hours)
        checked, idle, failed = 0, [], []
        for inventory in self._fresh_inventories(now):
            candidates = _candidates(inventory, start.timestamp())
            checked += len(candidates)
            account = inventory.account
            try:
                today = self._send_decided(inventory, hours, end)  # needs no metrics
                found = self._idle_in(account, candidates, start, end)
                self._alert_idle(inventory, found, today, hours, end)
            except RETRYABLE as error:  # this account's metrics or alerts: the others go on
                logger.warning(
                    "idle endpoints unchecked",
                    extra={"account": account, "reason": str(error)[:300]},
                )
                failed.append(account)
                continue
            idle += [endpoint.name for endpoint in found]
        if failed:
            raise RetryableError(f"idle endpoints unchecked for accounts {', '.join(failed)}")
        return {"endpoints_checked": checked, "idle_endpoints": idle}

    def _fresh_inventories(self, now: float) -> list[StoredInventory]:
        """The inventories of this Region whose collector still reports (endpoint metrics are
        shared per Region, through the OAM sink)."""
        found = []
        for record in self.table.inventories():
            try:
                inventory = StoredInventory.from_record(record)
            except InvalidEvent as error:  # a record no longer readable
                logger.error("inventory unreadable", extra={"reason": str(error)})
                continue
            if inventory.region == self.settings.region and (
                now - inventory.collected_at <= STALE_INVENTORY_SECONDS
            ):
                found.append(inventory)
        return found

    def _idle_in(
        self, account: str, candidates: list[Endpoint], start: datetime, end: datetime
    ) -> list[Endpoint]:
        if not candidates:
            return []
        calls = self.activity.invocations(
            account,
            {e.name: [v.name for v in e.variants if _on_hardware(v)] for e in candidates},
            start,
            end,
        )
        return [e for e in candidates if calls.get(e.name) == 0]  # None: metrics not shared

    def _send_decided(self, inventory: StoredInventory, hours: int, end: datetime) -> IdleAlerted:
        """Sends the idle alerts decided before and not all sent (yesterday's too: a run that
        failed before midnight is retried after it), each as it was decided; returns today's
        record, on which today's decisions are made."""
        account, region = inventory.account, inventory.region
        known = {e.name: e for e in inventory.endpoints}
        unsent: list[str] = []
        today = IdleAlerted()
        for day in ((end - timedelta(days=1)).date().isoformat(), end.date().isoformat()):
            today = self.table.idle_alerted(account, region, day)
            for plan_id, names in sorted(today.pending.items()):  # each on its own
                # One its account no longer lists (deleted since) is sent without its hardware.
                endpoints = [known.get(name) or Endpoint(name, ()) for name in sorted(names)]
                try:
                    self._send_plan(account, region, day, plan_id, endpoints, hours)
                except RETRYABLE as error:
                    logger.warning("idle alert unsent", extra={"reason": str(error)[:300]})
                    unsent.append(plan_id)
        if unsent:
            raise RetryableError(f"idle alerts unsent for {account}: {', '.join(unsent)}")
        return today

    def _alert_idle(
        self,
        inventory: StoredInventory,
        found: list[Endpoint],
        today: IdleAlerted,
        hours: int,
        end: datetime,
    ) -> None:
        """Each endpoint once a day: the day's first `threshold` alone, then the newly idle ones
        in one alert at most once an hour (a retry of the run minutes later leaves those found
        since for the next run). Decided on the day's record of what was alerted, not on this
        run's findings alone, and recorded before it is sent: a retried or concurrent run sends
        what was decided (`_send_decided`) instead of deciding again on moved findings."""
        account, region, day = inventory.account, inventory.region, end.date().isoformat()
        new = sorted({e.name for e in found} - today.alerted)  # a hostile list may repeat one
        if not new:
            return
        threshold = self.settings.idle_alerts_per_account  # 0: storm control off
        alone = not threshold or len(today.alone) + len(new) <= threshold
        at = end.timestamp()
        if not alone and at - today.grouped_at < IDLE_GROUP_INTERVAL_SECONDS:
            return  # one alert for many an hour: these are decided at the next hourly run
        decided = IdlePlan(
            ("alone-" if alone else "group-") + names_digest(new), frozenset(new), alone, at
        )
        expires = int(at) + IDLE_ALERTED_KEPT_SECONDS
        if len(today.alerted) + len(new) > MAX_IDLE_ALERTED:
            logger.warning("idle alerts unrecorded", extra={"account": account, "day": day})
        elif not self.table.plan_idle_alerts(account, region, day, decided, today.version, expires):
            raise RetryableError(f"idle alerts of {account} decided by another run meanwhile")
        known = {e.name: e for e in found}
        # If this fails, the plan is pending: the retry's `_send_decided` sends it as decided.
        self._send_plan(account, region, day, decided.id, [known[n] for n in new], hours)

    def _send_plan(
        self,
        account: str,
        region: str,
        day: str,
        plan_id: str,
        endpoints: list[Endpoint],
        hours: int,
    ) -> None:
        """A plan's alerts: one per endpoint if it was decided alone (or names one), else one
        for all; then the plan is no longer pending."""
        if plan_id.startswith("alone-") or len(endpoints) == 1:
            alerts = [idle_endpoint_alert(account, region, e, hours, day) for e in endpoints]
        else:
            alerts = [idle_endpoints_alert(account, region, endpoints, hours, day)]
        for alert in alerts:
            self._alert(alert)
        self.table.idle_alerts_sent(account, region, day, plan_id)

    def in_flight(self) -> dict[str, Any]:
        """Running jobs whose hardware idled for the whole last window (a parameter, 30 minutes
        by default), judged as the enricher judges a finished job, in one planned GetMetricData
        round per account. Each account on its own; one that fails is logged and checked again
        at the next tick (a retry now would read every account's metrics again)."""
        now = self.clock()
        span = self.settings.in_flight_idle_seconds
        by_account: dict[str, list[RunningJob]] = {}
        for record in self.table.running_jobs():
            try:
                job = RunningJob.from_record(record)
            except InvalidEvent as error:
                logger.error("running job unreadable", extra={"reason": str(error)})
                continue
            if _judgeable(job, self.settings.region, now, span):
                by_account.setdefault(job.account, []).append(job)
        idle, busy, unchecked = [], [], []
        for account, jobs in sorted(by_account.items()):
            try:
                for job, verdict in self._judge(_within_budget(account, jobs), now, span):
                    if verdict is Verdict.IDLE:
                        idle.append(job.name)
                    elif verdict in (Verdict.OK, Verdict.UNDER_USED):
                        busy.append(job.name)
            except RETRYABLE as error:  # this account's metrics or alerts: the others go on
                logger.warning(
                    "running jobs unchecked", extra={"account": account, "reason": str(error)[:300]}
                )
                unchecked.append(account)
        checked = sum(map(len, by_account.values()))
        return {
            "running_jobs_checked": checked,
            "idle_running_jobs": idle,
            "busy": busy,
            "unchecked_accounts": unchecked,
        }

    def _judge(
        self, jobs: list[RunningJob], now: float, span: int
    ) -> list[tuple[RunningJob, Verdict]]:
        """One account's running jobs over [now - span, now): each verdict, acted upon. At most
        `idle_alerts_per_account` episodes open per tick (the rest wait for the next ones), so
        one account's idle fleet pages its few first, not all at once."""
        team = self.settings.team_tag_key
        # The window is the job's judged span: no minimum run time beyond it.
        thresholds = replace(self.settings.thresholds, min_duration_seconds=0)
        probes = {job.key: job.probe(now - span, now, team) for job in jobs}
        # Only the metric a verdict is decided on: every metric asked for is billed.
        the_plan = plan(
            probes.values(), thresholds, datetime.fromtimestamp(now, UTC), None,
            lambda probe: (judged_metric(probe),),
        )  # fmt: skip
        fetched = self.metrics.fetch(the_plan.calls)
        observed = observe(fetched.series)
        skipped = fetched.forbidden | {skip.job for skip in the_plan.skipped}
        openings = self.settings.idle_alerts_per_account or len(jobs)
        verdicts = []
        for job in jobs:
            probe = probes[job.key]
            if JobKey.of(probe) in skipped:
                continue
            seen = observed.get(JobKey.of(probe), Observed())
            assessment = assess(probe, normalize(probe, seen), thresholds)
            verdicts.append((job, assessment.verdict))
            if assessment.verdict is Verdict.IDLE:
                if job.idle_since is None:  # a new episode: recorded first, so its end finds it
                    if openings <= 0:
                        continue
                    since, percent = now - span, assessment.deciding_percent or 0.0
                    episode = self.table.open_episode(job.key, since, percent)
                    if episode is None:
                        continue  # ended meanwhile, or another scan opened it
                    openings -= 1
                    job = replace(job, episode=episode, idle_since=since, idle_percent=percent)
                if not job.alerted:  # a delivery that failed is retried by the next tick
                    since = job.idle_since or now - span
                    self._alert(in_flight_alert(job, assessment, since, now, thresholds, team))
                    record = self.table.episode_alerted(job.key, job.episode)
                    if record is not None:
                        self._ended_while_idle(record)  # it ended while being alerted
            elif job.idle_since is not None and assessment.verdict is not Verdict.INSUFFICIENT_DATA:
                if job.alerted:
                    self._alert(busy_again_alert(job, assessment, now, span, team))
                self.table.close_episode(job.key, job.episode)
        return verdicts

    def endpoint_health(self) -> dict[str, Any]:
        """Endpoint variants whose 5XX rate or model latency stayed above their limits for the
        whole window alert once, and once more when they are back under them or gone (issue 16,
        part 2), from a GetMetricData round or two per account. Each account on its own: one whose
        metrics or alerts fail is logged and checked again at the next tick (an episode opened
        but not alerted is alerted then)."""
        minutes = self.settings.endpoint_health_minutes
        if not minutes:
            return {"endpoint_health_skipped": "EndpointHealthMinutes is 0"}
        if not self.settings.oam_sink_arn:
            return {"endpoint_health_skipped": "no OAM sink: other accounts' metrics are unread"}
        now = self.clock()
        end = datetime.fromtimestamp((now - METRIC_DELAY_SECONDS) // 60 * 60, UTC)
        window = (end - timedelta(minutes=minutes), end)
        episodes: dict[str, dict[str, Episode]] = {}
        for record in self.table.health_episodes():
            episode = Episode.from_record(record)
            if episode is not None and episode.region == self.settings.region:
                episodes.setdefault(episode.account, {})[episode.key] = episode
        outcome: dict[str, list[str]] = {"unhealthy": [], "recovered": [], "unchecked": []}
        checked = 0
        for inventory in self._fresh_inventories(now):
            account = inventory.account
            try:
                checked += self._health_in(
                    inventory, episodes.get(account, {}), window, now, outcome
                )
            except RETRYABLE as error:  # this account's metrics or alerts: the others go on
                logger.warning(
                    "endpoint health unchecked",
                    extra={"account": account, "reason": str(error)[:300]},
                )
                outcome["unchecked"].append(account)
        return {"variants_checked": checked} | {f"endpoints_{k}": v for k, v in outcome.items()}

    def _health_in(
        self,
        inventory: StoredInventory,
        episodes: Mapping[str, Episode],
        window: tuple[datetime, datetime],
        now: float,
        outcome: dict[str, list[str]],
    ) -> int:
        """One account's variants judged and acted upon; how many were read."""
        account, region, minutes = (
            inventory.account,
            inventory.region,
            self.settings.endpoint_health_minutes,
        )
        watched: dict[tuple[str, str], tuple[Limits, JobSays]] = {}
        listed: set[tuple[str, str]] = set()  # every variant in service, watched or not
        for endpoint in inventory.endpoints:
            says = JobSays.of(endpoint.tags)
            limits = Limits.of(dict(endpoint.tags), self.settings.endpoint_limits)
            for served in endpoint.variants:
                listed.add((endpoint.name, served.name))
                if not says.silenced and limits.judged:
                    watched[(endpoint.name, served.name)] = (limits, says)
        if len(watched) > MAX_VARIANTS_PER_ACCOUNT:
            logger.warning("endpoint variants past the health budget", extra={"account": account})
        unread = set(list(watched)[MAX_VARIANTS_PER_ACCOUNT:])  # judged at no tick: left as is
        watched = {pair: said for pair, said in watched.items() if pair not in unread}
        readings = self._minutes(account, watched, episodes, window) if watched else {}
        if readings is None:  # the account does not share its metrics
            outcome["unchecked"].append(account)
            return 0
        left = dict(episodes)
        due: list[tuple[Episode, Limits, JobSays]] = []
        # Storm control: this scan's new episodes past the threshold page in its summary.
        start, threshold, opened = window[0].timestamp(), self.settings.idle_alerts_per_account, 0
        batch = ""  # the first key this scan opens: its summary's incident
        expires = int(now) + HEALTH_OPEN_SECONDS
        for (name, variant), (limits, says) in watched.items():
            for signal in Signal:
                key = key_of(account, region, name, variant, signal)
                episode, limit = left.pop(key, None), limits.of_signal(signal)
                if limit is None:  # turned off by its tag: an open episode closes below, quietly
                    if episode is not None:
                        left[key] = episode
                    continue
                judgement = judge(readings.get((name, variant), []), signal, limit, minutes)
                if episode is None and judgement.verdict is HealthVerdict.UNHEALTHY:
                    alone = not threshold or opened < threshold
                    breach = Breach(
                        start, judgement.value, judgement.requests, limit, alone, batch or key
                    )
                    number = self.table.open_unhealthy(key, breach, expires)
                    if number is None:
                        continue  # another scan opened it (and named its batch after it)
                    opened, batch = opened + 1, breach.batch
                    episode = Episode.opened(
                        account, region, name, variant, signal, number, breach, expires
                    )
                    due.append((episode, limits, says))
                elif episode is not None and judgement.verdict is HealthVerdict.HEALTHY:
                    if episode.alerted and episode.alone:
                        self._alert(recovered_alert(episode, judgement, now, says))
                    self.table.close_unhealthy(key, episode.number, int(now) + HEALTH_KEPT_SECONDS)
                    outcome["recovered"].append(f"{account}/{name}/{variant}")
                elif episode is not None and not episode.alerted:
                    due.append((episode, limits, says))  # its alert failed before
                elif episode is not None and episode.expires < now + HEALTH_OPEN_SECONDS - 86_400:
                    self.table.keep_unhealthy(key, episode.number, expires)  # a write a day
        self._alert_unhealthy(account, region, due)
        outcome["unhealthy"] += [f"{account}/{e.endpoint}/{e.variant}" for e, *_ in due]
        named = {endpoint.name for endpoint in inventory.endpoints}
        for episode in left.values():  # gone, silenced, or its limit turned off
            pair = (episode.endpoint, episode.variant)
            if pair in unread or (episode.endpoint not in named and not inventory.complete):
                continue  # not read, or its endpoint left out of a list that may leave some out
            if pair not in listed and episode.alerted and episode.alone:
                self._alert(recovered_alert(episode, None, now, JobSays()))
            self.table.close_unhealthy(episode.key, episode.number, int(now) + HEALTH_KEPT_SECONDS)
        return len(watched)

    def _minutes(
        self,
        account: str,
        watched: Mapping[tuple[str, str], tuple[Limits, JobSays]],
        episodes: Mapping[str, Episode],
        window: tuple[datetime, datetime],
    ) -> dict[tuple[str, str], list[Minute]] | None:
        """The watched variants' minutes: their judged signals', then the requests of those
        they could judge (an episode open, or a minute that may breach). The rest can only be
        healthy or quiet, neither of which opens an episode: judged without requests, they are
        quiet, and the common case reads two metrics a variant instead of three."""
        wanted = {pair: limits.judged for pair, (limits, _) in watched.items()}
        read = self.activity.health(account, wanted, *window, requests=False)
        if read is None:
            return None
        open_ = {(episode.endpoint, episode.variant) for episode in episodes.values()}
        judging = {
            pair: frozenset[Signal]()
            for pair, (limits, _) in watched.items()
            if pair in open_
            or any(
                may_breach(read.get(pair, []), signal, limit)
                for signal in limits.judged
                if (limit := limits.of_signal(signal)) is not None
            )
        }
        served = self.activity.health(account, judging, *window) if judging else {}
        if served is None:
            return None
        return read | {
            pair: with_requests(read.get(pair, []), served.get(pair, [])) for pair in judging
        }

    def _alert_unhealthy(
        self, account: str, region: str, due: list[tuple[Episode, Limits, JobSays]]
    ) -> None:
        """Each one that pages alone, then one summary per scan for the rest (its incident is
        theirs: sent again, it is the same one)."""
        minutes = self.settings.endpoint_health_minutes
        summaries: dict[tuple[float, str], list[Episode]] = {}
        for episode, limits, says in due:
            if episode.alone:
                self._alert(unhealthy_alert(episode, minutes, limits, says))
                self.table.unhealthy_alerted(episode.key, episode.number)
            else:
                summaries.setdefault((episode.since, episode.batch), []).append(episode)
        for named in summaries.values():
            self._alert(unhealthy_summary(account, region, named))
            for episode in named:
                self.table.unhealthy_alerted(episode.key, episode.number)

    def _alert(self, alert: Alert) -> None:
        if self.deliver(alert).outcome is AlertOutcome.ALERTED:
            emit_alert(alert)
            logger.info("fleet alert", extra={"incident": alert.incident})


# What one health tick reads at most of an account: three metrics per variant (every one billed;
# two where none may breach), whatever its snapshot claims.
MAX_VARIANTS_PER_ACCOUNT = 200
IDLE_ALERTED_KEPT_SECONDS = 3 * 86_400  # a day's record of idle alerts: read the next day too
# Between two alerts for many idle endpoints of an account: an hourly run's, not its retries'.
IDLE_GROUP_INTERVAL_SECONDS = 45 * 60
HEALTH_KEPT_SECONDS = 2 * 86_400  # a closed episode's record: its number goes on
# An open episode's record, unless a scan sees it again (each keeps it this long, once a day):
# gone when its account has sent no inventory or shared no metrics that long.
HEALTH_OPEN_SECONDS = 30 * 86_400

# What one tick reads at most: a job's hosts, and an account's (the most expensive jobs first).
# A workload account's events claim the hosts: these bound what its claims can cost.
MAX_HOSTS_PER_JOB = 500
MAX_HOSTS_PER_ACCOUNT = 2_000


def _judgeable(job: RunningJob, region: str, now: float, span: int) -> bool:
    """Its metrics are readable here (this Region), it has done its work for the whole window
    (a training job: its Training phase), and it may still run (past its maximum runtime
    SageMaker has stopped it)."""
    if job.says.silenced:  # its tag asks for no alerts: not even read
        return False
    if job.region != region or job.working_since is None or job.working_since > now - span:
        return False
    if job.hosts > MAX_HOSTS_PER_JOB:
        logger.warning("running job too large to judge", extra={"job": job.name[:200]})
        return False
    return now <= job.stops_at + 3600


def _within_budget(account: str, jobs: list[RunningJob]) -> list[RunningJob]:
    """The account's jobs whose hosts fit in one tick's budget, the most expensive first."""
    chosen, hosts = [], 0
    for job in sorted(jobs, key=lambda j: -(hourly_cost(j) or 0.0)):
        if hosts + job.hosts > MAX_HOSTS_PER_ACCOUNT:
            logger.warning("running job over the account's budget", extra={"account": account})
            continue
        chosen.append(job)
        hosts += job.hosts
    return chosen


def _on_hardware(variant: Variant) -> bool:
    """Instances billed by the hour: not serverless, not scaled in to zero (an inference
    component endpoint's variant can be)."""
    return (
        variant.instance_type is not None and not variant.serverless and variant.instance_count > 0
    )


def _candidates(inventory: StoredInventory, window_start: float) -> list[Endpoint]:
    """The endpoints with instances that were in service for the whole window."""
    return [
        e
        for e in inventory.endpoints
        if any(_on_hardware(v) for v in e.variants)
        and inventory.first_seen.get(e.name, window_start + 1) <= window_start
    ]
