/**
 * Capture settings of the signed-in user (saved on the server so they follow the user)
 * and the app's own display preferences (kept in this browser).
 */
import { DEFAULT_SETTINGS, validateSettings, type CaptureSettings } from '../capture-config';
import { api } from '../api';
import { Store } from '../store';

/** How stickers in the conversation move: always, a few loops then still, or on hover. */
export type AnimationMode = 'loop' | 'few' | 'hover';

export interface SettingsState {
  capture: CaptureSettings;
  animation: AnimationMode;
  loaded: boolean;
}

const ANIM_KEY = 'clipchat.animation';

export const settings = new Store<SettingsState>({
  capture: { ...DEFAULT_SETTINGS },
  animation:
    ((typeof localStorage !== 'undefined' && localStorage.getItem(ANIM_KEY)) as AnimationMode) ||
    'loop',
  loaded: false,
});

/** Loads the user's settings from the server (defaults when none are saved). */
export async function loadSettings(): Promise<void> {
  try {
    const s = await api.getSettings();
    settings.set({ capture: validateSettings(s), loaded: true });
  } catch {
    settings.set({ loaded: true });
  }
}

/**
 * Validates and saves settings. @throws InvalidSettingError (with `.field`) or ApiError.
 */
export async function saveSettings(next: CaptureSettings): Promise<CaptureSettings> {
  const valid = validateSettings(next);
  const saved = await api.putSettings(valid);
  const merged = validateSettings(
    saved && typeof saved === 'object' && 'stillFormat' in saved ? saved : valid,
  );
  settings.set({ capture: merged });
  return merged;
}

export function setAnimation(mode: AnimationMode): void {
  localStorage.setItem(ANIM_KEY, mode);
  settings.set({ animation: mode });
}
