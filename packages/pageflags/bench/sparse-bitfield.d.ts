declare module "sparse-bitfield" {
  interface Pager {
    length: number;
    get(index: number, noAllocate?: boolean): { buffer: Uint8Array } | undefined;
  }
  interface Bitfield {
    get(index: number): boolean;
    set(index: number, value: boolean): boolean;
    pages: Pager;
    pageSize: number;
  }
  function bitfield(opts?: { pageSize?: number }): Bitfield;
  export default bitfield;
}
