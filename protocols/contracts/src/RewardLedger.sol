// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {FleetRegistry} from "./FleetRegistry.sol";

/// @title RewardLedger
/// @notice A whole fleet in one contract: its registry (FleetRegistry: owner, gateways, devices),
/// settlements, model provenance, reward token and claims, with cumulative reward leaves. Each round's root commits to one leaf per device that has ever earned,
/// (device address, cumulativeAmount uint256) in OpenZeppelin's StandardMerkleTree encoding, its
/// total to date. A claim against any settled root pays `cumulativeAmount - claimed[device]`
/// however many rounds that spans, with one proof; `claimed` only grows, so nothing is paid twice.
/// @dev Gas. Settlement writes two new slots whatever the round's size: the round's root, and the
/// new model's provenance entry with its settlement time (a round that keeps its settled parent
/// writes its settlement time instead). A claim reads the root and writes one slot: a device's
/// token balance and its claimed total share a word, which is why the token is this contract's own
/// rather than a separate ERC-20. The registry, ledger and token in one contract spare a settlement
/// its cold call to the registry (isGateway) and a claim its cold call to the ledger (the root),
/// about 3,000 gas each. The reward total, parent model and record hash are in the RoundSettled event
/// only, which auditors read; its signature is RoundLedger's, so readers decode both alike.
contract RewardLedger is FleetRegistry, ERC20 {
    struct Account {
        uint128 balance;
        uint128 claimed;
    }

    struct Provenance {
        /// round + 1 of the settlement that produced the model, so zero means "never settled".
        uint64 roundPlusOne;
        uint64 settledAt;
    }

    /// Most leaves one `sweep` takes, so that a batch fits a block.
    uint256 public constant MAX_SWEEP = 256;

    /// Seconds after a round's settlement from which the owner may sweep what its leaves left unclaimed.
    uint64 public immutable claimExpiry;

    mapping(uint64 round => bytes32) private _roots;
    mapping(bytes32 model => Provenance) private _models;
    /// The settlement time of a round that kept its already settled parent (it writes no provenance).
    mapping(uint64 round => uint64) private _keptAt;
    mapping(address account => Account) private _accounts;
    uint256 private _supply;

    event RoundSettled(
        bytes32 indexed fleet,
        uint64 indexed round,
        address indexed gateway,
        bytes32 parentModel,
        bytes32 newModel,
        bytes32 contributionsRoot,
        uint256 rewardTotal,
        bytes32 recordHash
    );
    /// A claim is the token's mint, Transfer(0, device, amount); a sweep adds this event per leaf.
    event Swept(address indexed device, uint64 indexed round, uint256 amount, address to);

    error NotGateway(address account);
    error WrongFleet(bytes32 expected, bytes32 given);
    error RoundAlreadySettled(uint64 round);
    error ModelAlreadySettled(bytes32 model);
    error ZeroValue(string field);
    error RewardTotalTooLarge(uint256 rewardTotal);
    error RoundOutOfRange(uint64 round);
    error RoundNotSettled(uint64 round);
    error InvalidProof(uint64 round, address device);
    error NothingToClaim(address device, uint256 cumulativeAmount, uint256 claimed);
    error SupplyOverflow(uint256 amount);
    error ModelNotOfRound(uint64 round, bytes32 model);
    error ClaimNotExpired(uint64 round, uint256 expiresAt);
    error TooManyClaims(uint256 count, uint256 max);

    constructor(address owner_, bytes32 fleet_, uint64 claimExpiry_, string memory name_, string memory symbol_)
        FleetRegistry(owner_, fleet_)
        ERC20(name_, symbol_)
    {
        claimExpiry = claimExpiry_;
    }

    /// @notice The fleet's registry: this contract (RoundLedger's accessor, for readers of both).
    function registry() external view returns (address) {
        return address(this);
    }

    /// @notice Records a round and the root of its cumulative reward leaves. Reverts when the round
    /// was settled before, or when its new model was settled by another round (a round that kept its
    /// settled parent re-names it, and may). The root is not checked against the previous round's:
    /// that would take every leaf in calldata. `cw audit` recomputes it from the round records.
    function settle(
        bytes32 fleet_,
        uint64 round,
        bytes32 parentModel,
        bytes32 newModel,
        bytes32 rewardsRoot,
        uint256 rewardTotal,
        bytes32 recordHash
    ) external {
        if (!isGateway[msg.sender]) revert NotGateway(msg.sender);
        if (fleet_ != fleet) revert WrongFleet(fleet, fleet_);
        if (newModel == bytes32(0)) revert ZeroValue("newModel");
        if (rewardsRoot == bytes32(0)) revert ZeroValue("contributionsRoot");
        if (recordHash == bytes32(0)) revert ZeroValue("recordHash");
        if (rewardTotal > type(uint128).max) revert RewardTotalTooLarge(rewardTotal);
        if (round == type(uint64).max) revert RoundOutOfRange(round);
        if (_roots[round] != bytes32(0)) revert RoundAlreadySettled(round);
        Provenance storage p = _models[newModel];
        if (p.roundPlusOne == 0) {
            p.roundPlusOne = round + 1;
            p.settledAt = uint64(block.timestamp);
        } else if (newModel != parentModel) {
            revert ModelAlreadySettled(newModel);
        } else {
            _keptAt[round] = uint64(block.timestamp);
        }
        _roots[round] = rewardsRoot;
        emit RoundSettled(fleet_, round, msg.sender, parentModel, newModel, rewardsRoot, rewardTotal, recordHash);
    }

    /// @notice Pays `device` what its leaf in `round`'s tree says it has earned to date, less what it
    /// has claimed. Anyone may submit it; the tokens always go to `device`. Any settled round's root
    /// will do: an older one pays only what it leaves unclaimed.
    function claim(uint64 round, address device, uint256 cumulativeAmount, bytes32[] calldata proof) external returns (uint256 amount) {
        if (device == address(0)) revert ZeroAddress();
        bytes32 root = _roots[round];
        if (root == bytes32(0)) revert RoundNotSettled(round);
        if (!MerkleProof.verifyCalldata(proof, root, _leaf(device, cumulativeAmount))) revert InvalidProof(round, device);
        Account storage a = _accounts[device];
        uint256 word;
        assembly ("memory-safe") {
            word := sload(a.slot)
        }
        // Account's layout: balance in the low 128 bits, claimed in the high 128.
        uint256 claimed = word >> 128;
        if (cumulativeAmount <= claimed) revert NothingToClaim(device, cumulativeAmount, claimed);
        unchecked {
            amount = cumulativeAmount - claimed;
        }
        // The supply bounds every balance and claimed total, so the packing below is exact.
        uint256 supply = _supply + amount;
        if (supply > type(uint128).max) revert SupplyOverflow(amount);
        _supply = supply;
        assembly ("memory-safe") {
            sstore(a.slot, or(shl(128, cumulativeAmount), add(and(word, 0xffffffffffffffffffffffffffffffff), amount)))
        }
        emit Transfer(address(0), device, amount);
    }

    /// @notice After `claimExpiry` from `round`'s settlement, the owner takes what the given leaves of
    /// that round leave unclaimed. Each leaf is proven like a claim and counts as claimed; a device
    /// keeps the right to what later rounds add. `newModel` is the round's (from its RoundSettled
    /// event), which locates its settlement time. Leaves with nothing unclaimed are passed over.
    function sweep(
        address to,
        uint64 round,
        bytes32 newModel,
        address[] calldata devices,
        uint256[] calldata cumulativeAmounts,
        bytes32[][] calldata proofs
    ) external onlyOwner returns (uint256 total) {
        if (to == address(0)) revert ZeroAddress();
        uint256 n = devices.length;
        if (n != cumulativeAmounts.length || n != proofs.length) revert LengthMismatch(n, cumulativeAmounts.length);
        if (n > MAX_SWEEP) revert TooManyClaims(n, MAX_SWEEP);
        bytes32 root = _roots[round];
        if (root == bytes32(0)) revert RoundNotSettled(round);
        uint256 expiresAt = uint256(_settledAt(round, newModel)) + claimExpiry;
        if (block.timestamp < expiresAt) revert ClaimNotExpired(round, expiresAt);
        for (uint256 i = 0; i < n; ++i) {
            address device = devices[i];
            uint256 cumulative = cumulativeAmounts[i];
            if (!MerkleProof.verifyCalldata(proofs[i], root, _leaf(device, cumulative))) revert InvalidProof(round, device);
            Account storage a = _accounts[device];
            uint256 claimed = a.claimed;
            if (cumulative <= claimed) continue;
            if (cumulative > type(uint128).max) revert SupplyOverflow(cumulative);
            a.claimed = uint128(cumulative);
            emit Swept(device, round, cumulative - claimed, to);
            total += cumulative - claimed;
        }
        if (total > 0) _mint(to, total);
    }

    /// @notice How much of its cumulative total `device` has claimed (or the owner swept).
    function claimedOf(address device) external view returns (uint256) {
        return _accounts[device].claimed;
    }

    /// @notice A settled round's root (zero when not settled).
    function rootOf(uint64 round) external view returns (bytes32) {
        return _roots[round];
    }

    /// @notice When `round`, whose new model is `newModel`, was settled; zero when it was not, or
    /// when `newModel` is not that round's.
    function settledAtOf(uint64 round, bytes32 newModel) external view returns (uint64) {
        if (_roots[round] == bytes32(0)) return 0;
        uint64 kept = _keptAt[round];
        if (kept != 0) return kept;
        Provenance memory p = _models[newModel];
        return p.roundPlusOne == uint256(round) + 1 ? p.settledAt : 0;
    }

    /// @notice True when some round of this fleet produced `model`: the model-provenance check.
    function isSettledModel(bytes32 model) external view returns (bool) {
        return _models[model].roundPlusOne != 0;
    }

    /// @notice Whether some round produced `model`, and which.
    function roundOfModel(bytes32 model) external view returns (bool settled, uint64 round) {
        uint64 r = _models[model].roundPlusOne;
        return r == 0 ? (false, 0) : (true, r - 1);
    }

    function balanceOf(address account) public view override returns (uint256) {
        return _accounts[account].balance;
    }

    function totalSupply() public view override returns (uint256) {
        return _supply;
    }

    /// ERC20's transfers, mints and burns on the packed accounts (OpenZeppelin's own balances stay unused).
    function _update(address from, address to, uint256 value) internal override {
        if (from == address(0)) {
            uint256 supply = _supply + value;
            if (supply > type(uint128).max) revert SupplyOverflow(value);
            _supply = supply;
        } else {
            Account storage a = _accounts[from];
            uint256 balance = a.balance;
            if (balance < value) revert ERC20InsufficientBalance(from, balance, value);
            unchecked {
                a.balance = uint128(balance - value);
            }
        }
        if (to == address(0)) {
            unchecked {
                _supply -= value;
            }
        } else {
            Account storage b = _accounts[to];
            unchecked {
                b.balance = uint128(b.balance + value);
            }
        }
        emit Transfer(from, to, value);
    }

    function _settledAt(uint64 round, bytes32 newModel) private view returns (uint64) {
        uint64 kept = _keptAt[round];
        if (kept != 0) return kept;
        Provenance memory p = _models[newModel];
        if (p.roundPlusOne != uint256(round) + 1) revert ModelNotOfRound(round, newModel);
        return p.settledAt;
    }

    /// StandardMerkleTree's leaf, keccak256(bytes.concat(keccak256(abi.encode(device,
    /// cumulativeAmount)))), hashed in scratch space (0x00-0x3f) rather than an allocated copy.
    function _leaf(address device, uint256 cumulativeAmount) private pure returns (bytes32 leaf) {
        assembly ("memory-safe") {
            mstore(0x00, device)
            mstore(0x20, cumulativeAmount)
            mstore(0x00, keccak256(0x00, 0x40))
            leaf := keccak256(0x00, 0x20)
        }
    }
}
