/**
 * Debian's chromium driven by playwright-core, for the console's browser tests: launch, a fresh
 * context per test, screenshots into test/console/screenshots/, and the page checks an
 * accessibility reviewer would make by hand (contrast, focus ring).
 */
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { PROJECT_ROOT } from "../../../src/paths.js";

/*
 * The functions handed to page.evaluate run in the page, where these globals exist; the project
 * compiles without the DOM lib, so they are declared here, for this module only.
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
declare const getComputedStyle: (el: any) => { color: string; backgroundColor: string; outlineStyle: string; outlineWidth: string };
type PageElement = any;

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const SCREENSHOTS_DIR = join(PROJECT_ROOT, "test", "console", "screenshots");

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"],
  });
}

/** Empties the screenshots folder, so what is there after a run is that run's. */
export async function resetScreenshots(): Promise<void> {
  await rm(SCREENSHOTS_DIR, { recursive: true, force: true });
  await mkdir(SCREENSHOTS_DIR, { recursive: true });
}

/** A full-page PNG named `name`, for a person to look at after the run. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOTS_DIR, { recursive: true });
  const path = join(SCREENSHOTS_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

export interface ContrastProblem {
  selector: string;
  text: string;
  ratio: number;
}

/**
 * WCAG contrast of each visible element matching `selector` against the background it is drawn on
 * (the first opaque background up its ancestors); those under `min` are returned.
 */
export async function contrastProblems(page: Page, selector: string, min = 4.5): Promise<ContrastProblem[]> {
  return page.$$eval(selector, (els, [sel, minimum]) => {
    const rgba = (c: string): number[] => (c.match(/[\d.]+/g) ?? []).map(Number);
    const lum = ([r, g, b]: number[]) => {
      const lin = (v: number) => { const s = v / 255; return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * lin(r!) + 0.7152 * lin(g!) + 0.0722 * lin(b!);
    };
    const backgroundOf = (el: PageElement | null): number[] => {
      for (let e = el; e; e = e.parentElement) {
        const c = rgba(getComputedStyle(e).backgroundColor);
        if (c.length === 3 || (c.length === 4 && c[3]! > 0.5)) return c.slice(0, 3);
      }
      return [255, 255, 255];
    };
    return els
      .filter((el: PageElement) => el.offsetParent !== null && (el.textContent ?? "").trim() !== "")
      .map((el: PageElement) => {
        const fg = lum(rgba(getComputedStyle(el).color));
        const bg = lum(backgroundOf(el));
        const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
        return { selector: sel as string, text: (el.textContent ?? "").trim().slice(0, 40), ratio: Math.round(ratio * 100) / 100 };
      })
      .filter((p) => p.ratio < (minimum as number));
  }, [selector, min] as const);
}

/** The focused element's outline, to check a keyboard user can see where they are. */
export function focusRing(page: Page): Promise<{ tag: string; text: string; outlineStyle: string; outlineWidth: number }> {
  return page.evaluate(() => {
    const el = document.activeElement as PageElement;
    const style = getComputedStyle(el);
    return { tag: el.tagName.toLowerCase(), text: (el.textContent ?? "").trim().slice(0, 40), outlineStyle: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth) };
  });
}
