/**
 * Capture settings (the video-capture management module), rendered from the engine's
 * schema: presets, every field explained in plain words, errors shown at the field with
 * the engine's own message. Saved to the server so they follow the user.
 */
import { useRef, useState } from 'preact/hooks';
import {
  FRAME_FIELDS,
  InvalidSettingError,
  PRESETS,
  SETTING_FIELDS,
  formatByteSize,
  parseBytes,
  parseCropText,
  validateSettings,
  type CaptureSettings,
  type SettingField,
} from '../capture-config';
import { ApiError } from '../api';
import { Modal } from '../Modal';
import { cap } from '../capture/state';
import { useStore } from '../store';
import { saveSettings, setAnimation, settings, type AnimationMode } from './state';

type Form = Record<string, string>;

/** Every field the panel shows: the settings, then the sticker-frame ones presets use. */
const FIELDS: readonly SettingField[] = [...SETTING_FIELDS, ...FRAME_FIELDS];

/** A byte-count field is typed and shown as a size (`500 KB`, `1 MiB`), not a count of bytes. */
const isBytes = (f: SettingField): boolean => f.unit === 'bytes';

function toForm(s: CaptureSettings): Form {
  const f: Form = {};
  for (const field of FIELDS) {
    const v = s[field.name] ?? field.default;
    f[field.name] =
      field.kind === 'rect'
        ? v
          ? `${(v as { x: number }).x},${(v as { y: number }).y},${(v as { width: number }).width},${(v as { height: number }).height}`
          : ''
        : isBytes(field)
          ? formatByteSize(v as number)
          : `${v as string | number | boolean}`; // the rect, the one object, is above
  }
  return f;
}

/** The form as settings. @throws InvalidSettingError for a size or a crop that cannot be read. */
function fromForm(f: Form): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of FIELDS) {
    const raw = (f[field.name] ?? '').trim();
    if (field.kind === 'enum') out[field.name] = raw;
    else if (field.kind === 'rect') out.crop = parseCropText(raw);
    else if (isBytes(field)) out[field.name] = parseBytes(raw, field.name);
    else out[field.name] = raw === '' ? NaN : Number(raw);
  }
  return out;
}

/** What a person reads for a refused setting: its words, not its field name. */
const wordsOf = (err: unknown): string =>
  err instanceof InvalidSettingError ? err.plain : (err as Error).message;

function Field({
  f,
  value,
  error,
  onChange,
}: {
  f: SettingField;
  value: string;
  error?: string;
  onChange: (v: string) => void;
}) {
  const id = `setting-${f.name}`;
  const input = (e: Event) => onChange((e.currentTarget as HTMLInputElement).value);
  return (
    <div class={`field ${error ? 'has-error' : ''}`}>
      <label for={id}>{f.label}</label>
      {f.kind === 'enum' ? (
        <select id={id} name={f.name} value={value} onChange={input}>
          {f.options!.map((o) => (
            <option value={o}>{o.toUpperCase()}</option>
          ))}
        </select>
      ) : f.kind === 'rect' ? (
        <input
          id={id}
          name={f.name}
          value={value}
          placeholder="x, y, width, height — empty keeps the whole frame"
          onInput={input}
        />
      ) : isBytes(f) ? (
        <input
          id={id}
          name={f.name}
          value={value}
          inputMode="decimal"
          placeholder="e.g. 500 KB, 1 MB, 256 KiB"
          onInput={input}
        />
      ) : (
        <span class="with-unit">
          <input
            id={id}
            name={f.name}
            type="number"
            value={value}
            min={f.min}
            max={f.max}
            step={f.kind === 'int' ? 1 : 'any'}
            onInput={input}
          />
          {f.unit && <span class="unit">{f.unit}</span>}
        </span>
      )}
      <p class="help">
        {f.help}
        {f.min !== undefined
          ? ` (${isBytes(f) ? `${formatByteSize(f.min)}–${formatByteSize(f.max!)}; KB and MB are 1000 bytes, KiB and MiB 1024` : `${f.min}–${f.max}${f.unit ? ` ${f.unit}` : ''}`})`
          : ''}
      </p>
      {error && (
        <p class="field-error" role="alert" data-testid={`error-${f.name}`}>
          {error}
        </p>
      )}
    </div>
  );
}

export function SettingsPanel({ onClose }: { onClose: () => void }) {
  const st = useStore(settings);
  const [form, setForm] = useState<Form>(() => toForm(st.capture));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [status, setStatus] = useState<string | null>(null);
  const drawn = cap.get().crop;
  // The keyboard starts in the dialog at its title, so Tab goes on to the presets.
  const title = useRef<HTMLHeadingElement>(null);

  const applyPreset = (id: string) => {
    const p = PRESETS.find((x) => x.id === id)!;
    try {
      // A preset that names no sticker frame means the usual one (Clipchat's own after a square one).
      const frame = { frameSize: 'max', fit: 'contain', ...p.settings };
      setForm(toForm(validateSettings(frame, validateSettings(fromForm(form)))));
    } catch {
      setForm(toForm(validateSettings({ frameSize: 'max', fit: 'contain', ...p.settings })));
    }
    setErrors({});
  };
  const save = async (e: Event) => {
    e.preventDefault();
    setStatus(null);
    try {
      const valid = validateSettings(fromForm(form));
      await saveSettings(valid);
      setErrors({});
      setStatus('Saved. The next capture uses these settings.');
    } catch (err) {
      if (err instanceof InvalidSettingError || (err instanceof ApiError && err.field)) {
        setErrors({ [(err as { field?: string }).field ?? 'settings']: wordsOf(err) });
      } else setStatus(`Could not save: ${(err as Error).message}`);
    }
  };
  return (
    <Modal
      class="settings-dialog"
      labelledBy="settings-title"
      initialFocus={title}
      onClose={onClose}
    >
      <form
        class="settings"
        noValidate
        onSubmit={save}
        aria-label="Capture settings"
        data-testid="settings"
      >
        {/* Not <header>/<footer>: outside a sectioning element those are the page's banner
            and content info landmarks, and the page has its own. */}
        <div class="settings-head">
          <h2 id="settings-title" tabIndex={-1} ref={title}>
            Capture settings
          </h2>
          <button type="button" class="icon" aria-label="Close" onClick={onClose}>
            ×
          </button>
        </div>
        <div class="presets">
          <span class="muted">Presets:</span>
          {PRESETS.map((p) => (
            <button
              type="button"
              class="chip"
              title={p.description}
              onClick={() => applyPreset(p.id)}
            >
              {p.label}
            </button>
          ))}
        </div>
        <div class="fields">
          {FIELDS.map((f) => (
            <Field
              key={f.name}
              f={f}
              value={form[f.name] ?? ''}
              error={errors[f.name]}
              onChange={(v) => {
                setForm({ ...form, [f.name]: v });
                setErrors({});
              }}
            />
          ))}
          {drawn && (
            <button
              type="button"
              class="link"
              onClick={() =>
                setForm({ ...form, crop: `${drawn.x},${drawn.y},${drawn.width},${drawn.height}` })
              }
            >
              Use the crop drawn on the video ({drawn.width}×{drawn.height})
            </button>
          )}
          {errors.settings && (
            <p class="field-error" role="alert">
              {errors.settings}
            </p>
          )}
        </div>
        <div class="field">
          <label for="setting-animation">Sticker animation</label>
          <select
            id="setting-animation"
            value={st.animation}
            onChange={(e) => setAnimation(e.currentTarget.value as AnimationMode)}
          >
            <option value="loop">Always animate</option>
            <option value="few">Stop after a few loops</option>
            <option value="hover">Play on hover only</option>
          </select>
          <p class="help">How stickers move in conversations (kept in this browser).</p>
        </div>
        <div class="settings-foot">
          {status && (
            <span class="status" role="status">
              {status}
            </span>
          )}
          <button type="button" onClick={onClose}>
            Close
          </button>
          <button class="primary" type="submit">
            Save
          </button>
        </div>
      </form>
    </Modal>
  );
}
