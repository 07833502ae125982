/**
 * User-Mode Linux's observe-only free hook: UML can substitute a host-file page for a guest
 * "physical" page (`physmem_subst_mapping`, used by the ubd driver for mmap); at every free the
 * hook removes such substitutions (`physmem_remove_mapping`) and lets the generic free continue
 * (Pratt's patch made it return 0).
 *
 * @module
 */
import type { BuddyAllocator } from "@mem/buddy";
import { assertUint, type FreePageHook } from "@mem/machine";

/** One substituted page: the host file and offset mapped over the frame. */
export interface PhysmemSubstitution {
  /** Host file descriptor. */
  readonly fd: number;
  /** Offset in the host file, in bytes. */
  readonly offset: number;
  /** Whether the mapping is writable. */
  readonly writable: boolean;
}

/** UML's physmem substitutions and its observing `arch_free_page` hook. */
export class UmlPhysmem implements FreePageHook {
  /** Hook name. */
  readonly name = "uml-physmem";
  private readonly subst = new Map<number, PhysmemSubstitution>();
  /** Frees observed. */
  observed = 0;
  /** Substitutions removed by frees (mappings restored to physmem). */
  removed = 0;

  /** `physmem_subst_mapping`: maps `(fd, offset)` over the frame at `pfn`. */
  substMapping(pfn: number, fd: number, offset: number, writable: boolean): void {
    assertUint("pfn", pfn);
    assertUint("fd", fd);
    assertUint("offset", offset);
    this.subst.set(pfn, { fd, offset, writable: Boolean(writable) });
  }

  /** `is_remapped`: the substitution over `pfn`, or null. */
  substitution(pfn: number): PhysmemSubstitution | null {
    return this.subst.get(pfn) ?? null;
  }

  /** Substitutions in place. */
  get size(): number {
    return this.subst.size;
  }

  /** Observes a free: removes the substitutions of its 2^order pages; never claims. */
  onFree(pfn: number, order: number): boolean {
    this.observed++;
    if (this.subst.size !== 0) {
      const n = 2 ** order;
      for (let k = 0; k < n; k++) if (this.subst.delete(pfn + k)) this.removed++;
    }
    return false;
  }

  /** Installs the hook on `buddy`; returns the function that removes it. */
  attach(buddy: BuddyAllocator): () => void {
    return buddy.addFreeHook(this);
  }
}
