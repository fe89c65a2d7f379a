package desk

import (
	"math/big"
	"strconv"
)

// roundDecimal renders a decimal text with places decimals, rounding half away from zero on
// the decimal value itself (as Zoho's Java servers round currency: "7.125" → "7.13"), not on
// its nearest float64.
func roundDecimal(txt string, places int) string {
	r, ok := new(big.Rat).SetString(txt)
	if !ok {
		x, _ := strconv.ParseFloat(txt, 64)
		return strconv.FormatFloat(x, 'f', places, 64)
	}
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(places)), nil)
	r.Mul(r, new(big.Rat).SetInt(scale))
	half := big.NewRat(1, 2)
	if r.Sign() < 0 {
		half.Neg(half)
	}
	r.Add(r, half)
	q := new(big.Int).Quo(r.Num(), r.Denom())
	return new(big.Rat).SetFrac(q, scale).FloatString(places)
}
