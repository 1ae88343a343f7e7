-- infrakit.template.codec: base64 (standard alphabet, padded) and SHA-256
-- in pure Lua with LuaJIT's bit operations, for b64enc/b64dec/sha256sum.
-- Pure functions; nothing here yields.
local bit = require "bit"

local band, bor, bxor, bnot = bit.band, bit.bor, bit.bxor, bit.bnot
local rshift, lshift, ror, tobit, tohex = bit.rshift, bit.lshift, bit.ror, bit.tobit, bit.tohex
local byte, char, concat, rep = string.byte, string.char, table.concat, string.rep

local M = {}

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local B64_DEC = {}
for i = 1, 64 do B64_DEC[byte(B64, i)] = i - 1 end

--- Standard base64 with padding.
---@param s string
---@return string
function M.b64encode(s)
  local out, n = {}, #s
  for i = 1, n, 3 do
    local a, b, c = byte(s, i, i + 2)
    local v = lshift(a, 16) + lshift(b or 0, 8) + (c or 0)
    local i1, i2, i3, i4 = rshift(v, 18) + 1, band(rshift(v, 12), 63) + 1, band(rshift(v, 6), 63) + 1, band(v, 63) + 1
    out[#out + 1] = B64:sub(i1, i1) .. B64:sub(i2, i2)
      .. (b and B64:sub(i3, i3) or "=") .. (c and B64:sub(i4, i4) or "=")
  end
  return concat(out)
end

--- Decodes standard padded base64. Returns the bytes, or nil and Go's
--- message ("illegal base64 data at input byte N").
---@param s string
---@return string|nil bytes, string? message
function M.b64decode(s)
  s = s:gsub("[\r\n]", "")
  local out, n = {}, #s
  if n % 4 ~= 0 then
    -- Go reports the first byte past the last complete quantum
    for i = 1, n do
      if not B64_DEC[byte(s, i)] and byte(s, i) ~= 61 then
        return nil, ("illegal base64 data at input byte %d"):format(i - 1)
      end
    end
    return nil, ("illegal base64 data at input byte %d"):format(n - n % 4)
  end
  for i = 1, n, 4 do
    local v, pad = 0, 0
    for j = 0, 3 do
      local c = byte(s, i + j)
      local d = B64_DEC[c]
      if c == 61 and i + 4 > n and (j >= 2) and (j == 3 or byte(s, i + 3) == 61) then
        pad = pad + 1
        d = 0
      elseif not d or pad > 0 then
        return nil, ("illegal base64 data at input byte %d"):format(i - 1 + j)
      end
      v = v * 64 + d
    end
    local b1, b2, b3 = rshift(v, 16), band(rshift(v, 8), 255), band(v, 255)
    if pad == 0 then
      out[#out + 1] = char(b1, b2, b3)
    elseif pad == 1 then
      out[#out + 1] = char(b1, b2)
    else
      out[#out + 1] = char(b1)
    end
  end
  return concat(out)
end

local K = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}
for i = 1, 64 do K[i] = tobit(K[i]) end

--- SHA-256 of s as 64 lowercase hex digits.
---@param s string
---@return string
function M.sha256_hex(s)
  local h0, h1, h2, h3 = tobit(0x6a09e667), tobit(0xbb67ae85), tobit(0x3c6ef372), tobit(0xa54ff53a)
  local h4, h5, h6, h7 = tobit(0x510e527f), tobit(0x9b05688c), tobit(0x1f83d9ab), tobit(0x5be0cd19)
  local len = #s
  -- pad: 0x80, zeros, 64-bit big-endian bit length
  local bits = len * 8
  local hi, lo = math.floor(bits / 2 ^ 32), bits % 2 ^ 32
  s = s .. "\128" .. rep("\0", (55 - len) % 64)
    .. char(band(rshift(hi, 24), 255), band(rshift(hi, 16), 255), band(rshift(hi, 8), 255), band(hi, 255))
    .. char(band(rshift(lo, 24), 255), band(rshift(lo, 16), 255), band(rshift(lo, 8), 255), band(lo, 255))
  local w = {}
  for chunk = 1, #s, 64 do
    for i = 0, 15 do
      local a, b, c, d = byte(s, chunk + i * 4, chunk + i * 4 + 3)
      w[i] = bor(lshift(a, 24), lshift(b, 16), lshift(c, 8), d)
    end
    for i = 16, 63 do
      local x, y = w[i - 15], w[i - 2]
      local s0 = bxor(ror(x, 7), ror(x, 18), rshift(x, 3))
      local s1 = bxor(ror(y, 17), ror(y, 19), rshift(y, 10))
      w[i] = tobit(w[i - 16] + s0 + w[i - 7] + s1)
    end
    local a, b, c, d, e, f, g, h = h0, h1, h2, h3, h4, h5, h6, h7
    for i = 0, 63 do
      local S1 = bxor(ror(e, 6), ror(e, 11), ror(e, 25))
      local ch = bxor(band(e, f), band(bnot(e), g))
      local t1 = tobit(h + S1 + ch + K[i + 1] + w[i])
      local S0 = bxor(ror(a, 2), ror(a, 13), ror(a, 22))
      local maj = bxor(band(a, b), band(a, c), band(b, c))
      local t2 = tobit(S0 + maj)
      h, g, f, e, d, c, b, a = g, f, e, tobit(d + t1), c, b, a, tobit(t1 + t2)
    end
    h0, h1, h2, h3 = tobit(h0 + a), tobit(h1 + b), tobit(h2 + c), tobit(h3 + d)
    h4, h5, h6, h7 = tobit(h4 + e), tobit(h5 + f), tobit(h6 + g), tobit(h7 + h)
  end
  return tohex(h0) .. tohex(h1) .. tohex(h2) .. tohex(h3) .. tohex(h4) .. tohex(h5) .. tohex(h6) .. tohex(h7)
end

return M
