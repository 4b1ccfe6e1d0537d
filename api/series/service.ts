/**
 * Recurring session series as Temporal Schedules (`series-<series_id>`). The schedule holds the
 * timing; MongoDB holds the series document the API lists. Each occurrence runs
 * `seriesOccurrenceWorkflow`, which creates one ordinary session.
 */
import { ScheduleNotFoundError, type Client, type ScheduleSpec } from '@temporalio/client';
import type { Db } from 'mongodb';
import type { Config } from '../../lib/config';
import { NotFoundError, ValidationError } from '../../lib/errors';
import { newId } from '../../lib/ids';
import { COLLECTIONS } from '../../lib/store/collections';
import type { CreateSeriesRequest, Series } from '../../lib/schemas/series';
import { seriesOccurrenceWorkflow, type SeriesTemplate } from '../../workflows/series';
import type { PersonaCatalog, SessionService } from '../sessions/service';
import { findVisible, visibleTo, type Actor } from '../access';

/** Internal fields that never leave the API. */
const HIDDEN = { projection: { _id: 0, owner_id: 0 } } as const;
const scheduleIdFor = (seriesId: string) => `series-${seriesId}`;

export class SeriesService {
  constructor(
    private readonly temporal: Client,
    private readonly db: Db,
    private readonly config: Config,
    private readonly personas: PersonaCatalog,
    private readonly sessions: SessionService,
  ) {}

  private get col() {
    return this.db.collection<Series & { _id: string }>(COLLECTIONS.series);
  }

  async create(req: CreateSeriesRequest, actor: Actor): Promise<Series> {
    const persona = await this.personas.get(req.persona_id);
    if (!persona)
      throw new ValidationError(`Unknown persona: ${req.persona_id}`, {
        field: 'persona_id',
        reason: 'no such persona',
      });
    await this.sessions.assertClientVisible(req.client_id, actor);
    const series: Series = {
      series_id: newId('series'),
      client_id: req.client_id,
      persona_id: req.persona_id,
      goals: req.goals,
      duration_minutes: req.duration_minutes,
      recurrence: req.recurrence,
      ...(req.start_date ? { start_date: req.start_date } : {}),
      ...(req.end_date ? { end_date: req.end_date } : {}),
      metadata: req.metadata,
      status: 'active',
      created_at: new Date().toISOString(),
      created_by: actor.name,
      ...(actor.owner_id ? { owner_id: actor.owner_id } : {}),
    };
    const template: SeriesTemplate = {
      series_id: series.series_id,
      client_id: series.client_id,
      persona_id: series.persona_id,
      ...(persona.version !== undefined ? { persona_version: persona.version } : {}),
      goals: series.goals,
      duration_minutes: series.duration_minutes,
      created_by: series.created_by,
      ...(series.owner_id ? { owner_id: series.owner_id } : {}),
      metadata: series.metadata,
      options: this.sessions.workflowOptions(),
    };
    await this.col.insertOne({ _id: series.series_id, ...series });
    try {
      await this.temporal.schedule.create({
        scheduleId: scheduleIdFor(series.series_id),
        spec: toScheduleSpec(series),
        action: {
          type: 'startWorkflow',
          workflowType: seriesOccurrenceWorkflow,
          args: [template],
          workflowId: `series-${series.series_id}-occurrence`,
          taskQueue: this.config.temporal.task_queues.sessions,
        },
        policies: {
          // After an outage, do not flood a client with missed sessions: only the latest one runs.
          catchupWindow: '1 minute',
          overlap: 'ALLOW_ALL',
        },
        memo: { client_id: series.client_id, persona_id: series.persona_id },
      });
    } catch (err) {
      await this.col.deleteOne({ _id: series.series_id });
      throw err;
    }
    return this.get(series.series_id, actor);
  }

  async list(
    filter: { client_id?: string },
    page: number,
    limit: number,
    actor: Actor,
  ): Promise<{ items: Series[]; total: number }> {
    const query = {
      ...(filter.client_id ? { client_id: filter.client_id } : {}),
      ...visibleTo(actor),
    };
    const [items, total] = await Promise.all([
      this.col
        .find(query, HIDDEN)
        .sort({ created_at: -1, series_id: -1 })
        .skip((page - 1) * limit)
        .limit(limit)
        .toArray(),
      this.col.countDocuments(query),
    ]);
    return { items, total };
  }

  async get(seriesId: string, actor: Actor): Promise<Series> {
    const series = await this.findOrThrow(seriesId, actor);
    const description = await this.schedule(seriesId).describe();
    return {
      ...series,
      next_occurrences: description.info.nextActionTimes.slice(0, 5).map((d) => d.toISOString()),
    };
  }

  async pause(seriesId: string, actor: Actor): Promise<Series> {
    await this.findOrThrow(seriesId, actor);
    await this.schedule(seriesId).pause(`paused by ${actor.name}`);
    await this.col.updateOne({ _id: seriesId }, { $set: { status: 'paused' } });
    return this.get(seriesId, actor);
  }

  async resume(seriesId: string, actor: Actor): Promise<Series> {
    await this.findOrThrow(seriesId, actor);
    await this.schedule(seriesId).unpause(`resumed by ${actor.name}`);
    await this.col.updateOne({ _id: seriesId }, { $set: { status: 'active' } });
    return this.get(seriesId, actor);
  }

  /** Deletes the schedule; sessions it already created are ordinary sessions and stay. */
  async delete(seriesId: string, actor: Actor): Promise<void> {
    await this.findOrThrow(seriesId, actor);
    try {
      await this.schedule(seriesId).delete();
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
    await this.col.deleteOne({ _id: seriesId });
  }

  private async findOrThrow(seriesId: string, actor: Actor): Promise<Series> {
    const series = await findVisible(this.col, seriesId, actor, HIDDEN.projection);
    if (!series) throw new NotFoundError(`Series ${seriesId} not found`);
    return series;
  }

  private schedule(seriesId: string) {
    return this.temporal.schedule.getHandle(scheduleIdFor(seriesId));
  }
}

export function toScheduleSpec(series: Series): ScheduleSpec {
  const r = series.recurrence;
  return {
    ...(r.cron ? { cronExpressions: [r.cron] } : {}),
    ...(r.interval_seconds ? { intervals: [{ every: `${r.interval_seconds}s` }] } : {}),
    ...(r.calendar
      ? {
          calendars: r.calendar.map((c) => ({
            hour: c.hour,
            minute: c.minute,
            ...(c.day_of_week ? { dayOfWeek: c.day_of_week } : {}),
            ...(c.day_of_month ? { dayOfMonth: c.day_of_month } : {}),
          })),
        }
      : {}),
    timezone: r.timezone,
    ...(series.start_date ? { startAt: new Date(series.start_date) } : {}),
    ...(series.end_date ? { endAt: new Date(series.end_date) } : {}),
  };
}
