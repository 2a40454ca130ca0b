// Batched transpose (CpuOps.Transpose): y [batch, cols, rows] = x [batch, rows, cols]ᵀ per batch item.
// One 32×32 tile per block through shared memory, so both the reads of x and the writes of y are coalesced;
// the tile has 33 columns so a column read hits 32 different banks. Launch with blocks of 32×8 threads,
// grid (ceil(cols/32), ceil(rows/32), batch).

#define TILE 32
#define TILE_ROWS 8

extern "C" __global__ void transpose_f32(float* y, const float* x, int batch, int rows, int cols)
{
    __shared__ float tile[TILE][TILE + 1];
    long long base = (long long)blockIdx.z * rows * cols;
    int c0 = blockIdx.x * TILE, r0 = blockIdx.y * TILE;
    if ((int)blockIdx.z >= batch) return;
    for (int dr = threadIdx.y; dr < TILE; dr += TILE_ROWS)
    {
        int r = r0 + dr, c = c0 + threadIdx.x;
        if (r < rows && c < cols) tile[dr][threadIdx.x] = x[base + (long long)r * cols + c];
    }
    __syncthreads();
    // Write row c of y: its elements are x's column c, read down the tile.
    for (int dc = threadIdx.y; dc < TILE; dc += TILE_ROWS)
    {
        int c = c0 + dc, r = r0 + threadIdx.x;
        if (r < rows && c < cols) y[base + (long long)c * rows + r] = tile[threadIdx.x][dc];
    }
}
